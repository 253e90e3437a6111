// Runs that must not all start at once: a CLI that sets up shared state on its first start
// (opencode migrates its session database) fails when two first starts race. `FirstStartGate`
// lets one run go first, the others wait until it has shown that the setup is done.
import { AgentError, shortMessage } from '../../errors.js';
import type { AgentOutcome, AgentRun, StopReason } from '../agent.js';
import { stoppedError } from './spawn.js';

/** Call with true once the run showed the shared setup is done, false if it ended without showing it. */
export type GateRelease = (warm: boolean) => void;

export class FirstStartGate {
  private warm = false;
  private first: Promise<void> | undefined;

  /** Resolves when the caller may start. It must call the release it gets (once is enough; later calls do nothing). */
  async enter(): Promise<GateRelease> {
    while (!this.warm && this.first) await this.first;
    if (this.warm) return () => {};
    // Claimed in the same tick as the check above, so no other waiter can also become the first.
    let open!: () => void;
    this.first = new Promise<void>((r) => (open = r));
    let done = false;
    return (warm) => {
      if (done) return;
      done = true;
      if (warm) this.warm = true;
      this.first = undefined;
      open();
    };
  }
}

/**
 * An AgentRun whose process is started only when `gate` resolves. `pid` is 0 and `spawned`
 * unsettled until then. A stop() before then ends the run at once, unspawned, with the stop's
 * typed error; when its turn comes `skipped` gets what the gate gave (so a claim is handed back).
 */
export function gatedRun<T>(gate: Promise<T>, label: string, start: (t: T) => AgentRun, skipped: (t: T) => void): AgentRun {
  let inner: AgentRun | undefined;
  let stopReason: StopReason | undefined;
  let startError: unknown;
  const failure = (error: AgentError): AgentOutcome => ({ ok: false, error, permissionDenials: [], exitCode: null });
  let endWaiting!: (o: AgentOutcome) => void;
  const stoppedWaiting = new Promise<AgentOutcome>((r) => (endWaiting = r));
  const begun = gate.then(
    (t) => {
      if (stopReason !== undefined) return skipped(t);
      try {
        inner = start(t);
      } catch (err) {
        startError = err;
        skipped(t);
      }
    },
    (err: unknown) => {
      startError = err;
    },
  );
  const started = begun.then(async (): Promise<AgentOutcome> => {
    if (inner) return inner.outcome;
    if (startError === undefined) return stoppedWaiting;
    return failure(new AgentError('AGENT_FAILED', `${label} could not start: ${shortMessage(startError)}`, { cause: startError, retryable: true }));
  });
  const outcome = Promise.race([stoppedWaiting, started]);
  return {
    get pid() {
      return inner?.pid ?? 0;
    },
    spawned: Promise.race([stoppedWaiting, begun.then(() => inner?.spawned)]).then(() => undefined),
    outcome,
    stop: async (reason: StopReason, graceMs: number): Promise<void> => {
      if (inner) await inner.stop(reason, graceMs);
      else if (stopReason === undefined) {
        stopReason = reason;
        endWaiting(failure(stoppedError(label, reason)));
      }
      await outcome;
    },
  };
}
