// Typed errors of the git workspace layer. Whether a failure is transient (worth another attempt
// later) is decided here, by code, never by reading a message.
import { VaultrunnerError, type ErrorCode } from '../errors.js';
import type { GitOperation } from './in-progress.js';

export type WorkspaceErrorCode = Extract<
  ErrorCode,
  | 'GIT_MISSING'
  | 'GIT_FAILED'
  | 'NOT_A_REPO'
  | 'NO_COMMITS'
  | 'BASE_BRANCH_MISSING'
  | 'BRANCH_INVALID'
  | 'BRANCH_CHECKED_OUT'
  | 'WORKTREES_DIR_UNWRITABLE'
  | 'WORKTREES_DIR_INSIDE'
  | 'WORKTREE_PATH_TAKEN'
  | 'TREE_DIRTY'
  | 'MERGE_CONFLICT'
  | 'NOT_FAST_FORWARD'
  | 'BASE_DIRTY'
  | 'GIT_DIR_CHANGED'
  | 'BASE_MOVED'
  | 'GATE_UNKNOWN'
  | 'NO_REMOTE'
>;

/**
 * Transient: the same step may succeed later without anyone changing anything (a lock another git
 * process holds, a base branch that moved under us, an unexpected git failure). Everything else
 * needs a person (or the operator) to act first: a permanent failure, no retry.
 * BASE_DIRTY and MERGE_CONFLICT are permanent for the merge step: the task waits in review.
 */
const TRANSIENT: ReadonlySet<WorkspaceErrorCode> = new Set<WorkspaceErrorCode>(['GIT_FAILED', 'BASE_MOVED']);

export interface WorkspaceErrorDetails {
  /** Files involved: conflicting paths (MERGE_CONFLICT), dirty paths (TREE_DIRTY, BASE_DIRTY). */
  files?: readonly string[];
  /** The git argv that failed (GIT_FAILED), without the `-c` options. */
  args?: readonly string[];
  exitCode?: number | null;
  /** Last lines of git's stderr (GIT_FAILED). */
  stderr?: string;
  /** BASE_DIRTY because of an unfinished rebase, merge, cherry-pick, … in a checkout (in-progress.ts). */
  operation?: GitOperation;
}

export class WorkspaceError extends VaultrunnerError {
  declare readonly code: WorkspaceErrorCode;
  readonly details: WorkspaceErrorDetails;

  constructor(code: WorkspaceErrorCode, message: string, opts: { cause?: unknown; details?: WorkspaceErrorDetails } = {}) {
    super(code, message, { ...(opts.cause !== undefined ? { cause: opts.cause } : {}), retryable: TRANSIENT.has(code) });
    this.details = opts.details ?? {};
  }

  /** Same as `retryable`: another attempt later may succeed. */
  get transient(): boolean {
    return this.retryable;
  }
}

export function isWorkspaceError(err: unknown, code?: WorkspaceErrorCode): err is WorkspaceError {
  return err instanceof WorkspaceError && (code === undefined || err.code === code);
}
