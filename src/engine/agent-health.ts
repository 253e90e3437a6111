// Probing agent CLIs (cached by the registry) and recording a change of health where `list` and
// `show` can read it (.vaultrunner/agents.json), so every view gives the executor's reason.
import { writeAgentHealth, type AgentHealthFile } from '../vault/agent-health.js';
import type { EngineContext } from './context.js';

const lastWritten = new WeakMap<object, string>();

/** Probe these agents (cache permitting); persist health when it changed. */
export async function probeAgents(ctx: EngineContext, names: Iterable<string>): Promise<void> {
  if (!ctx.agentHealth) for (const name of new Set(names)) await ctx.agents.probe(name, ctx.clock.now());
  const file: AgentHealthFile = {};
  for (const name of ctx.agents.names()) {
    const p = healthOf(ctx, name);
    if (p) file[name] = { ok: p.ok, detail: p.detail };
  }
  const key = JSON.stringify(file);
  if (lastWritten.get(ctx) === key) return;
  lastWritten.set(ctx, key);
  await writeAgentHealth(ctx.paths, file).catch((err: unknown) => ctx.logger.debug({ component: 'agents', err }, 'could not record agent health'));
}

/** Health as readiness wants it (undefined until probed). */
export function healthOf(ctx: Pick<EngineContext, 'agents'> & Partial<Pick<EngineContext, 'agentHealth'>>, name: string): { ok: boolean; detail: string } | undefined {
  if (ctx.agentHealth) return ctx.agentHealth();
  const p = ctx.agents.lastProbe(name);
  return p ? { ok: p.ok, detail: p.detail } : undefined;
}
