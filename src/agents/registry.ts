// The agents the operator configured: the built-in `claude`, `codex`, `gemini`, `opencode`, plus any
// COMMAND_AGENTS. A note can only pick one of these by name; it can never define one.
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import type { Agent, AgentProbe } from './agent.js';
import { createClaudeAgent } from './claude/claude-agent.js';
import { createCodexAgent } from './codex/codex-agent.js';
import { createCommandAgent } from './command-agent.js';
import { createGeminiAgent } from './gemini/gemini-agent.js';
import { createOpencodeAgent } from './opencode/opencode-agent.js';

/** Where a built-in agent keeps its config and sessions: `<vault>/.vaultrunner/agents/<name>` (vault/layout's STATE_DIR; agents may not import vault). */
export function agentStateDir(vaultDir: string, name: string): string {
  return join(vaultDir, '.vaultrunner', 'agents', name);
}

/** The built-in agents as the config describes them (binaries, default models, state dirs, idle timeout). */
export function builtinAgents(config: Config): Agent[] {
  const common = (name: string) => ({ name, stateDir: agentStateDir(config.vaultDir, name), idleTimeoutMs: config.agentIdleTimeoutMs, ...(config.models[name as keyof Config['models']] ? { model: config.models[name as keyof Config['models']]! } : {}) });
  const { stateDir: _unused, ...claude } = common('claude');
  return [
    createClaudeAgent({ bin: config.claudeBin, ...claude }),
    createCodexAgent({ bin: config.codexBin, ...common('codex') }),
    createGeminiAgent({ bin: config.geminiBin, ...common('gemini') }),
    createOpencodeAgent({ bin: config.opencodeBin, ...common('opencode') }),
  ];
}

export class AgentRegistry {
  private readonly agents = new Map<string, Agent>();
  private readonly health = new Map<string, { probe: AgentProbe; at: number }>();

  constructor(agents: Agent[]) {
    for (const a of agents) this.agents.set(a.name, a);
  }

  static fromConfig(config: Config): AgentRegistry {
    const list: Agent[] = builtinAgents(config);
    for (const [name, argv] of Object.entries(config.commandAgents)) list.push(createCommandAgent({ name, argv: [...argv], idleTimeoutMs: config.agentIdleTimeoutMs }));
    return new AgentRegistry(list);
  }

  get(name: string): Agent | undefined {
    return this.agents.get(name);
  }

  names(): string[] {
    return [...this.agents.keys()];
  }

  /** Last known health of an agent's CLI (undefined until probed). */
  lastProbe(name: string): AgentProbe | undefined {
    return this.health.get(name)?.probe;
  }

  /**
   * Probe unless a cached answer is fresh enough: a healthy CLI is re-checked every 10 minutes, a
   * broken one every minute (probing spawns the CLI, so an idle service should rarely do it).
   * `maxAgeMs` overrides both (0: always probe).
   */
  async probe(name: string, now: number, maxAgeMs?: number): Promise<AgentProbe | undefined> {
    const agent = this.agents.get(name);
    if (!agent) return undefined;
    const hit = this.health.get(name);
    const limit = maxAgeMs ?? (hit?.probe.ok ? 600_000 : 60_000);
    if (hit && now - hit.at < limit) return hit.probe;
    const probe = await agent.probe().catch((err: Error): AgentProbe => ({ ok: false, detail: err.message }));
    this.health.set(name, { probe, at: now });
    return probe;
  }
}
