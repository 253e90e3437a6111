// Step 2 of a run in a worktree: the operator's SETUP (e.g. ["npm","ci"]) before the agent's first
// spawn. It is part of the run (slot, lease, deadline, cancel), so it is wrapped with the agent in
// one AgentRun: setup first, then the agent; a stop during setup ends setup's process group.
import type { AgentOutcome, AgentRun, StopReason } from '../../agents/agent.js';
import { AgentError, shortMessage, VaultrunnerError } from '../../errors.js';
import { faultPoint } from '../../fault.js';
import { failureReason } from '../../workspace/gates.js';
import type { CommandResult } from '../../workspace/run-command.js';
import { runSetup } from '../../workspace/setup.js';

export interface SetupPlan {
  /** The worktree's top folder. */
  root: string;
  argv: readonly string[];
  timeoutMs: number;
}

export interface SetupStepOptions {
  plan: SetupPlan;
  killGraceMs: number;
  /** Added to setup's clean environment: the run marker (crash recovery finds its processes) and the task id. */
  env: Readonly<Record<string, string>>;
  /** The run's transcript. */
  transcript?: { note(text: string): void; output(title: string, text: string): void };
  /** Spawns the agent once setup succeeded (or was done before). */
  spawnAgent: () => AgentRun;
  /** The agent's pid, once it exists (the lease records it). */
  onAgentSpawned?: (pid: number) => void;
}

/** Setup, then the agent, as one run. Setup already done in this worktree (same argv) is skipped. */
export function setupThenAgent(opts: SetupStepOptions): AgentRun {
  const abort = new AbortController();
  let agent: AgentRun | undefined;
  let stopReason: StopReason | undefined;
  const failed = (error: AgentError): AgentOutcome => ({ ok: false, error, permissionDenials: [], exitCode: null });
  const outcome = (async (): Promise<AgentOutcome> => {
    const shown = opts.plan.argv.join(' ');
    let result: CommandResult | undefined;
    try {
      const s = await runSetup({ root: opts.plan.root, argv: opts.plan.argv, timeoutMs: opts.plan.timeoutMs, killGraceMs: opts.killGraceMs, env: opts.env, signal: abort.signal, onSpawn: () => faultPoint('during-setup') });
      if (s.ran) result = s.result;
      else if (s.reason === 'done-before') opts.transcript?.note(`Setup already done in this worktree; not run again: ${shown}`);
    } catch (err) {
      // Reading the worktree's git folder failed: a git problem, transient unless typed otherwise.
      const retryable = err instanceof VaultrunnerError ? err.retryable : true;
      return failed(new AgentError('SETUP_FAILED', `SETUP_FAILED: setup ${JSON.stringify(opts.plan.argv)} could not run: ${shortMessage(err)}`, { cause: err, retryable }));
    }
    if (result) {
      const how = result.ok ? 'done' : stopReason ? `stopped (${stopReason})` : `failed (${failureReason(result)})`;
      opts.transcript?.output(`Setup ${how} after ${(result.durationMs / 1000).toFixed(1)} s: ${shown}`, result.outputTail);
      if (stopReason) return stoppedDuringSetup(stopReason);
      if (!result.ok) return failed(setupError(result, opts.plan.timeoutMs));
      faultPoint('after-setup');
    }
    // A stop that came while setup was finishing: the agent is never spawned.
    if (stopReason) return stoppedDuringSetup(stopReason);
    agent = opts.spawnAgent();
    await agent.spawned; // the pid of a file-backed run comes with the spawner's answer
    if (agent.pid > 0) opts.onAgentSpawned?.(agent.pid);
    return agent.outcome;
  })();
  return {
    get pid() {
      return agent?.pid ?? 0;
    },
    outcome,
    async stop(reason, graceMs) {
      stopReason ??= reason;
      if (agent) return agent.stop(reason, graceMs);
      abort.abort(); // runCommand ends setup's whole process group
      await outcome;
      // Spawned after all (a stop raced the spawn): it is stopped too.
      const late = agent as AgentRun | undefined;
      if (late) await late.stop(reason, graceMs);
    },
  };
}

/** Exit code and the end of the output: what a person needs to see in the note's `error`. */
export function setupError(r: CommandResult, timeoutMs: number): AgentError {
  const argv = JSON.stringify(r.argv);
  const lines = r.outputTail.replace(/\s+$/, '').split('\n').slice(-3).join(' / ');
  const tail = lines ? `; output ends: ${shortMessage(lines, 160)}` : '';
  // Timed out: the next attempt may find the network or the cache back (retried like an agent timeout).
  if (r.timedOut) return new AgentError('SETUP_TIMEOUT', `SETUP_TIMEOUT: setup ${argv} did not finish within ${Math.round(timeoutMs / 1000)} s (SETUP_TIMEOUT)${tail}`, { retryable: true });
  // A failing setup needs a person (the repository, or the operator's SETUP): no retry.
  return new AgentError('SETUP_FAILED', `SETUP_FAILED: setup ${argv} failed (${failureReason(r)})${tail}`);
}

function stoppedDuringSetup(reason: StopReason): AgentOutcome {
  const error =
    reason === 'timeout'
      ? new AgentError('AGENT_TIMEOUT', 'the task timed out during setup', { retryable: true })
      : new AgentError('AGENT_STOPPED', `stopped during setup (${reason})`);
  return { ok: false, error, permissionDenials: [], exitCode: null };
}
