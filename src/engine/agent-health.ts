// Probing agent CLIs (cached by the registry) and recording a change of health where `list` and
// `show` can read it (.vaultrunner/agents.json), so every view gives the executor's reason.
import { writeAgentHealth, type AgentHealthFile } from '../vault/agent-health.js';
import type { EngineContext } from './context.js';

const lastWritten = new WeakMap<object, string>();

/** Probe these agents (cache permitting); persist health when it changed. */
export async function probeAgents(ctx: EngineContext, names: Iterable<string>): Promise<void> {
  for (const name of new Set(names)) await ctx.agents.probe(name, ctx.clock.now());
  const file: AgentHealthFile = {};
  for (const name of ctx.agents.names()) {
    const p = ctx.agents.lastProbe(name);
    if (p) file[name] = { ok: p.ok, detail: p.detail };
  }
  const key = JSON.stringify(file);
  if (lastWritten.get(ctx) === key) return;
  lastWritten.set(ctx, key);
  await writeAgentHealth(ctx.paths, file).catch((err: unknown) => ctx.logger.debug({ component: 'agents', err }, 'could not record agent health'));
}

/** Health as readiness wants it (undefined until probed). */
export function healthOf(ctx: Pick<EngineContext, 'agents'>, name: string): { ok: boolean; detail: string } | undefined {
  const p = ctx.agents.lastProbe(name);
  return p ? { ok: p.ok, detail: p.detail } : undefined;
}
