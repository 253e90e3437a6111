// What every agent run shares: the stop() contract (SIGTERM the process group, SIGKILL after the
// grace period, remember why) and an outcome promise that never rejects.
import { AgentError, shortMessage } from '../../errors.js';
import type { AgentOutcome, AgentRun, StopReason } from '../agent.js';
import type { Readable } from 'node:stream';
import { groupAlive, terminateGroup } from '../../os/process.js';

/** After the leader exits, how long a stray grandchild may hold our pipes open. */
const DRAIN_MS = 2000;
/** Grace for background jobs the agent left in its process group after a normal exit. */
const LEFTOVER_GRACE_MS = 1000;

export class RunControl {
  /** Set by the adapter once the child has exited (after that its pgid may be reused). */
  exited = false;
  /** Why stop() was called, if it was called before the child exited. */
  stopReason: StopReason | undefined;

  /** Process-group leader pid: 0 until known (a spawner answers later) and if the spawn failed. */
  pid: number;
  /** Resolves with the final pid (0: never started); stop() waits for it. */
  spawned: Promise<number>;

  constructor(pid: number, spawned?: Promise<number>) {
    this.pid = pid;
    this.spawned = spawned ? spawned.then((p) => (this.pid = p)) : Promise.resolve(pid);
  }

  /** Note the child's exit, then stop reading its pipes after DRAIN_MS: a grandchild may keep
   *  them open after the leader died, and the run must not wait on it forever. */
  watchExit(child: { once(event: 'exit', fn: () => void): unknown; stdout?: Readable | null; stderr?: Readable | null }): void {
    // (A file-backed child has no pipes: only `exited` matters.)
    child.once('exit', () => {
      this.exited = true;
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, DRAIN_MS).unref();
    });
  }

  /** Background jobs the agent left in its group must not outlive the run. */
  async endLeftovers(): Promise<void> {
    if (this.pid > 0 && groupAlive(this.pid)) await terminateGroup(this.pid, LEFTOVER_GRACE_MS);
  }

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
    const control = this;
    return {
      get pid() {
        return control.pid;
      },
      spawned: this.spawned.then(() => undefined),
      outcome: safe,
      stop: async (reason: StopReason, graceMs: number): Promise<void> => {
        if (!this.exited) this.stopReason ??= reason;
        // A stop before the spawner answered: the group is ended as soon as its pid is known.
        await this.spawned;
        if (this.pid > 0 && !this.exited) await terminateGroup(this.pid, graceMs);
        await safe;
      },
    };
  }
}
