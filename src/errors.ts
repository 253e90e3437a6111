// Typed errors: callers decide retry vs. permanent by `retryable` / `code`, never by message text.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'NOTE_PARSE'
  | 'NOTE_INVALID'
  | 'NOTE_CHANGED'
  | 'NOTE_GONE'
  | 'MOVE_COLLISION'
  | 'LOCK_HELD'
  | 'WORKSPACE_DENIED'
  | 'PERMISSION_DENIED'
  | 'AGENT_UNKNOWN'
  | 'AGENT_NOT_FOUND'
  | 'AGENT_AUTH'
  | 'AGENT_FAILED'
  | 'AGENT_TIMEOUT'
  | 'AGENT_STOPPED'
  | 'AGENT_PROTOCOL'
  | 'PLAN_FAILED'
  | 'TASK_NOT_FOUND'
  | 'NOTE_EXISTS'
  | 'EDIT_REFUSED'
  | 'VAULT_MISSING'
  | 'USAGE'
  | 'UNSAFE_PATH'
  | 'QUEUE_UNAVAILABLE'
  | 'QUEUE_JOB_INVALID'
  // The scan of every process for a run's marker (os/proc-scan/) did not answer in time.
  | 'PROC_SCAN_FAILED'
  // Git workspaces (src/workspace/errors.ts decides which are transient).
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
  // The operator's SETUP command in a fresh worktree (the run fails before the agent starts).
  | 'SETUP_FAILED'
  | 'SETUP_TIMEOUT';

export class VaultrunnerError extends Error {
  readonly code: ErrorCode;
  /** True when trying the same thing again later may succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}

/** Configuration is wrong; the process should exit 2. */
export class ConfigError extends VaultrunnerError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('CONFIG_INVALID', message, opts);
  }
}

/** A note's bytes cannot be understood (YAML syntax, binary, non-YAML frontmatter). Never rewrite it. */
export class NoteParseError extends VaultrunnerError {
  constructor(readonly file: string, message: string, opts: { cause?: unknown } = {}) {
    super('NOTE_PARSE', message, opts);
  }
}

/** The note changed on disk between our read and our write; the person's edit wins. */
export class NoteChangedError extends VaultrunnerError {
  constructor(readonly file: string, opts: { cause?: unknown } = {}) {
    super('NOTE_CHANGED', `note changed while we were writing it: ${file}`, { ...opts, retryable: true });
  }
}

export class NoteGoneError extends VaultrunnerError {
  constructor(readonly file: string, opts: { cause?: unknown } = {}) {
    super('NOTE_GONE', `note no longer exists: ${file}`, opts);
  }
}

/** Errors from running an agent CLI. `retryable` says whether another attempt may help. */
export class AgentError extends VaultrunnerError {
  constructor(
    code: Extract<ErrorCode, `AGENT_${string}` | 'WORKSPACE_DENIED' | 'PERMISSION_DENIED' | 'SETUP_FAILED' | 'SETUP_TIMEOUT'>,
    message: string,
    opts: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(code, message, opts);
  }
}

export class UsageError extends VaultrunnerError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof VaultrunnerError ? err.retryable : true;
}

/** One line, safe for logs and YAML: no newlines, bounded length. */
export function shortMessage(err: unknown, max = 200): string {
  const raw = err instanceof Error ? err.message : String(err);
  const line = raw.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
