// A run's outcome → the task's next status and machine state. Used when a run ends and when the
// watchdog replays an outcome journaled by a service that crashed before writing the note. Pure.
import { backoffMs } from './backoff.js';
import type { Status } from './status.js';

/** What a finished run reports (the shape journaled in its lease). */
export interface RunOutcome {
  ok: boolean;
  code?: string;
  message?: string;
  retryable?: boolean;
  sessionId?: string;
  /** The agent that ran (whose session sessionId is). */
  agent?: string;
  costUsd?: number;
  stopReason?: string;
  finishedAt: number;
  /** Keys the steps after the agent record in the note (head_commit, gates, review…). */
  noteEdits?: Record<string, string | number>;
  /** A success a person must look at (permission denials, REVIEW=always). */
  needsReview?: boolean;
  /** The agent's final summary (after its last fix round), written once under `## Result`. */
  result?: string;
}

/**
 * The stop that counts for a run's end. A deadline that passes after the agent itself finished
 * with success (while its leftover processes were being ended, or a CLI lingered after its
 * result) does not make the run a timeout: its work is committed, gated and reviewed as any
 * success. A person's pause, cancel or move always counts.
 */
export function effectiveStopReason<R extends string>(ok: boolean, stopReason: R | undefined): R | undefined {
  return ok && stopReason === 'timeout' ? undefined : stopReason;
}

export interface OutcomeContext {
  /** The note's status now (a person may have changed it during the run). */
  status: Status | undefined;
  /** The attempt number of this run (the note's `attempts`). */
  attempts: number;
  maxAttempts: number;
  requiresReview: boolean;
  /** Interrupted attempts and retry failures in this cycle; the attempt count when the cycle began. */
  interrupted: number;
  failures: number;
  cycleStart: number;
  retryBackoffMs: number;
  now: number;
  random?: () => number;
}

export type OutcomeDecision =
  /** Paused or shut down: resume this session next time; back to `planned` if still `executing`. */
  | { kind: 'interrupted'; to?: 'planned'; resumeSession?: string }
  /** Cancelled or moved by a person: forget machine state; file in Done/ if the note says so. */
  | { kind: 'stopped'; fileInDone: boolean }
  | { kind: 'success'; to: 'done' | 'in_review'; fileInDone: boolean }
  | { kind: 'retry'; to: 'planned'; delayMs: number; failures: number; error: string }
  | { kind: 'failed'; to: 'failed'; error: string };

/** Attempts of this cycle that count against max_attempts (interrupted ones do not). */
export function countedAttempts(c: Pick<OutcomeContext, 'attempts' | 'interrupted' | 'cycleStart'>): number {
  return c.attempts - c.cycleStart - c.interrupted;
}

export function decideOutcome(o: RunOutcome, c: OutcomeContext): OutcomeDecision {
  if (o.stopReason === 'pause' || o.stopReason === 'shutdown' || c.status === 'paused') {
    return { kind: 'interrupted', ...(c.status === 'executing' ? { to: 'planned' as const } : {}), ...(o.sessionId ? { resumeSession: o.sessionId } : {}) };
  }
  if (o.stopReason === 'cancel' || o.stopReason === 'moved' || c.status === 'cancelled') {
    return { kind: 'stopped', fileInDone: c.status === 'cancelled' || c.status === 'done' };
  }
  if (o.ok) {
    const to = c.requiresReview || o.needsReview ? 'in_review' : 'done';
    return { kind: 'success', to, fileInDone: to === 'done' };
  }
  const error = o.message ?? o.code ?? 'agent failed';
  if (o.retryable && countedAttempts(c) < c.maxAttempts) {
    const failures = c.failures + 1;
    return { kind: 'retry', to: 'planned', delayMs: backoffMs(c.retryBackoffMs, failures, c.random), failures, error };
  }
  return { kind: 'failed', to: 'failed', error };
}
