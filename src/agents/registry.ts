// The agents the operator configured: `claude` plus any COMMAND_AGENTS. A note can only pick one
// of these by name; it can never define one.
import type { Config } from '../config/config.js';
import type { Agent, AgentProbe } from './agent.js';
import { createClaudeAgent } from './claude/claude-agent.js';
import { createCommandAgent } from './command-agent.js';

export class AgentRegistry {
  private readonly agents = new Map<string, Agent>();
  private readonly health = new Map<string, { probe: AgentProbe; at: number }>();

  constructor(agents: Agent[]) {
    for (const a of agents) this.agents.set(a.name, a);
  }

  static fromConfig(config: Config): AgentRegistry {
    const list: Agent[] = [createClaudeAgent({ bin: config.claudeBin, name: 'claude' })];
    for (const [name, argv] of Object.entries(config.commandAgents)) list.push(createCommandAgent({ name, argv: [...argv] }));
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
