// What every agent run shares: the stop() contract (SIGTERM the process group, SIGKILL after the
// grace period, remember why) and an outcome promise that never rejects.
import { AgentError, shortMessage } from '../errors.js';
import type { AgentOutcome, AgentRun, StopReason } from './agent.js';
import { terminateGroup } from './process-group.js';

export class RunControl {
  /** Set by the adapter once the child has exited (after that its pgid may be reused). */
  exited = false;
  /** Why stop() was called, if it was called before the child exited. */
  stopReason: StopReason | undefined;

  constructor(readonly pid: number) {}

  /** The AgentRun for `outcome`, which is made never to reject. */
  run(outcome: Promise<AgentOutcome>, label: string): AgentRun {
    const safe = outcome.catch(
      (err: unknown): AgentOutcome => ({
        ok: false,
        error: new AgentError('AGENT_FAILED', `${label} failed unexpectedly: ${shortMessage(err)}`, { cause: err, retryable: true }),
        permissionDenials: [],
        exitCode: null,
      }),
    );
    return {
      pid: this.pid,
      outcome: safe,
      stop: async (reason: StopReason, graceMs: number): Promise<void> => {
        if (!this.exited) this.stopReason ??= reason;
        if (this.pid > 0 && !this.exited) await terminateGroup(this.pid, graceMs);
        await safe;
      },
    };
  }
}
