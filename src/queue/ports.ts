// The narrow ports the queue layer needs from the rest of vaultrunner. The engine, the vault's
// lease store and the workspace module plug in behind these; the queue code knows nothing else.
import type { RunJob } from './job.js';

/** Minimal logger (pino's Logger fits). */
export interface QueueLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Coordinator: is this the lease that currently holds the task? (The fencing check.) */
export interface LeaseCheck {
  isCurrent(taskId: string, token: string): Promise<boolean>;
}

/** Coordinator: where the last transcript entry read from a run's stream is kept across restarts. */
export interface CursorStore {
  get(runId: string): Promise<string | undefined>;
  set(runId: string, streamId: string): Promise<void>;
  delete(runId: string): Promise<void>;
}

/** Worker: a checkout of the job's branch to run the agent in. */
export interface PreparedWorkspace {
  cwd: string;
  branch: string;
  /** The commit the branch started from in this workspace. */
  startCommit: string;
}

export interface HandBack {
  headCommit?: string;
  pushed: boolean;
  /** Why the push (or commit) failed, one line. */
  error?: string;
}

/** Worker: prepare a workspace, hand the branch back, clean up. The workspace module replaces the simple one. */
export interface WorkspacePort {
  prepare(job: RunJob, runId: string): Promise<PreparedWorkspace>;
  /** Commit what the agent changed on the branch and push it to the remote. */
  handBack(job: RunJob, ws: PreparedWorkspace, message: string): Promise<HandBack>;
  /** Remove the checkout (kept when `keep`, e.g. an unpushed change). */
  cleanup(ws: PreparedWorkspace, keep: boolean): Promise<void>;
}

export interface GateResult {
  name: string;
  ok: boolean;
  exitCode: number | null;
  /** The last few lines of its output. */
  tail: string;
  durationMs: number;
}

/** Worker: run the operator's gates (names from the job, argv from the worker's own config). */
export interface GateRunner {
  known(): string[];
  run(names: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<GateResult[]>;
}
