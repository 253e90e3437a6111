// The task state a new cycle of attempts starts from (a person's retry or review round).
import type { TaskState } from '../vault/task-state.js';

/** A new cycle after `attempts` (a person's retry or review round): max_attempts counts from
 *  here, and no backoff, failure count or session is carried over. */
export function newCycleState(attempts: number): Partial<TaskState> {
  return { cycleStart: attempts, notBefore: undefined, failures: undefined, interrupted: undefined, resumeSession: undefined };
}
