// The one place that runs git. Always an argv array (never a shell), always the same clean
// environment and the same `-c` overrides, so what git does never depends on who started the
// service, their pager, their locale or the repository's hooks.
//
// Decisions (see docs/workspaces.md):
// - Environment: a short allow-list of the parent's variables (PATH, HOME, USER, LOGNAME, TMPDIR,
//   XDG_CONFIG_HOME, TZ) plus our own. Every GIT_* variable of the parent is dropped (a GIT_DIR or
//   GIT_INDEX_FILE leaking in from a hook or an IDE would point git at another repository).
//   LC_ALL=C keeps messages and dates parseable; GIT_TERMINAL_PROMPT=0 and GIT_EDITOR=true mean git
//   can never wait for a person; GIT_OPTIONAL_LOCKS=0 stops `status` from rewriting the index of a
//   person's checkout just to refresh stat data.
// - Hooks never run (`core.hooksPath=/dev/null`): hooks are code from the repository, and with
//   husky-style `core.hooksPath=.husky` they live in the very tree the agent just edited, so running
//   them would let a task widen what runs. The operator's GATES are where checks belong.
// - The user's global config is still read (safe.directory, core.autocrlf, user identity fallbacks
//   matter for a faithful view of their repository), but signing, fsmonitor daemons, auto-gc and
//   colours are switched off, since each would start processes or prompts we do not own.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { WorkspaceError } from './errors.js';

/** `-c` options put before every git subcommand. */
export const GIT_CONFIG_ARGS: readonly string[] = [
  '-c', 'core.hooksPath=/dev/null',
  '-c', 'core.fsmonitor=false',
  '-c', 'core.quotePath=false',
  '-c', 'core.pager=cat',
  '-c', 'color.ui=false',
  '-c', 'gc.auto=0',
  '-c', 'maintenance.auto=false',
  '-c', 'commit.gpgSign=false',
  '-c', 'tag.gpgSign=false',
  '-c', 'submodule.recurse=false',
  '-c', 'advice.detachedHead=false',
];

const PASS_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR', 'XDG_CONFIG_HOME', 'TZ'] as const;

/** The environment every git process gets: the allow-list above plus our fixed settings. */
export function gitEnv(base: NodeJS.ProcessEnv = process.env, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of PASS_ENV) if (base[k] !== undefined) env[k] = base[k];
  return {
    ...env,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_EDITOR: 'true',
    GIT_OPTIONAL_LOCKS: '0',
    GCM_INTERACTIVE: 'never',
    ...extra,
  };
}

export interface GitRunOptions {
  cwd: string;
  /** Written to stdin, which is then closed (stdin is empty otherwise). */
  input?: string;
  /** Extra variables, e.g. GIT_AUTHOR_NAME; only these are added to gitEnv(). */
  env?: Readonly<Record<string, string>>;
  /** Exit codes that are answers rather than failures (e.g. 1 for `diff --quiet`). 0 always is. */
  okExitCodes?: readonly number[];
  /** Default 5 minutes; then git is killed and GIT_FAILED thrown. */
  timeoutMs?: number;
  /** Stream stdout into this file (created or truncated) instead of keeping it in memory. */
  stdoutFile?: string;
  /** Cap of captured stdout (default 64 MiB); beyond it git is killed and GIT_FAILED thrown. */
  maxStdoutBytes?: number;
}

export interface GitResult {
  stdout: string;
  /** The same bytes undecoded (for patches: file contents need not be UTF-8). */
  stdoutBytes: Buffer;
  stderr: string;
  exitCode: number;
}

const STDERR_KEEP = 8 * 1024;

/** The parent environment gitEnv() reads; tests may replace it (e.g. to hide git from PATH). */
let baseEnv: NodeJS.ProcessEnv = process.env;
export function setGitBaseEnv(env: NodeJS.ProcessEnv): void {
  baseEnv = env;
}

/** Run `git <args>` in `opts.cwd`. Rejects with WorkspaceError GIT_MISSING or GIT_FAILED. */
export async function git(args: readonly string[], opts: GitRunOptions): Promise<GitResult> {
  const out = opts.stdoutFile ? await open(opts.stdoutFile, 'w') : undefined;
  try {
    return await new Promise<GitResult>((resolve, reject) => {
      const child = spawn('git', [...GIT_CONFIG_ARGS, ...args], {
        cwd: opts.cwd,
        env: gitEnv(baseEnv, opts.env),
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', out ? out.fd : 'pipe', 'pipe'],
        detached: true, // its own process group, so a timeout also ends helpers git started
      });
      const kill = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const chunks: Buffer[] = [];
      let size = 0;
      let stderr = '';
      let why: string | undefined;
      const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
      child.stdout?.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          why ??= `output exceeded ${max} bytes`;
          kill();
        } else chunks.push(c);
      });
      child.stderr!.on('data', (c: Buffer) => {
        stderr = (stderr + String(c)).slice(-STDERR_KEEP);
      });
      child.stdin?.on('error', () => undefined); // git may exit before reading all of stdin
      child.stdin?.end(opts.input);
      const timer = setTimeout(() => {
        why ??= `timed out after ${opts.timeoutMs ?? 300_000} ms`;
        kill();
      }, opts.timeoutMs ?? 300_000);
      timer.unref();
      child.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // spawn says ENOENT for a missing cwd too (a worktree folder deleted by hand): not git's absence.
        if (err.code === 'ENOENT' && !existsSync(opts.cwd)) reject(new WorkspaceError('NOT_A_REPO', `the folder ${opts.cwd} does not exist (deleted by hand?); git cannot run there`, { cause: err }));
        else if (err.code === 'ENOENT') reject(new WorkspaceError('GIT_MISSING', 'git was not found on PATH; install git to use git workspaces', { cause: err }));
        else reject(failure(args, null, `could not start git: ${err.message}`, err));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const exitCode = code ?? -1;
        if (why || signal) return reject(failure(args, code, why ?? `killed by ${signal}`, undefined, stderr));
        if (exitCode !== 0 && !opts.okExitCodes?.includes(exitCode)) return reject(failure(args, code, lastLines(stderr), undefined, stderr));
        const bytes = Buffer.concat(chunks);
        resolve({ stdout: bytes.toString('utf8'), stdoutBytes: bytes, stderr, exitCode });
      });
    });
  } finally {
    await out?.close();
  }
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').slice(-n).join(' / ') || 'no message';
}

function failure(args: readonly string[], exitCode: number | null, what: string, cause?: unknown, stderr = ''): WorkspaceError {
  return new WorkspaceError('GIT_FAILED', `git ${args[0] ?? ''} failed${exitCode !== null ? ` (exit ${exitCode})` : ''}: ${what}`, {
    ...(cause !== undefined ? { cause } : {}),
    details: { args: [...args], exitCode, stderr: stderr.slice(-2000) },
  });
}

// ---- small queries shared by the workspace modules ---------------------------------------

/** `git rev-parse --verify -q <rev>^{commit}`: the commit id, or undefined when there is none. */
export async function resolveCommit(cwd: string, rev: string): Promise<string | undefined> {
  const r = await git(['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`], { cwd, okExitCodes: [1] });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** Is `a` an ancestor of (or equal to) `b`? */
export async function isAncestor(cwd: string, a: string, b: string): Promise<boolean> {
  const r = await git(['merge-base', '--is-ancestor', a, b], { cwd, okExitCodes: [1] });
  return r.exitCode === 0;
}

export interface WorktreeEntry {
  path: string;
  head?: string;
  /** Full ref, e.g. refs/heads/main; undefined when detached. */
  branch?: string;
  bare: boolean;
  detached: boolean;
  /** Reason given to `worktree lock`, '' when locked without one; undefined when not locked. */
  locked?: string;
  prunable: boolean;
}

/** `git worktree list --porcelain -z`, parsed. The first entry is the main working tree. */
export async function listWorktrees(cwd: string): Promise<WorktreeEntry[]> {
  const r = await git(['worktree', 'list', '--porcelain', '-z'], { cwd });
  const entries: WorktreeEntry[] = [];
  let cur: WorktreeEntry | undefined;
  for (const field of r.stdout.split('\0')) {
    if (field === '') {
      if (cur) entries.push(cur);
      cur = undefined;
      continue;
    }
    const sp = field.indexOf(' ');
    const key = sp < 0 ? field : field.slice(0, sp);
    const val = sp < 0 ? '' : field.slice(sp + 1);
    if (key === 'worktree') cur = { path: val, bare: false, detached: false, prunable: false };
    else if (!cur) continue;
    else if (key === 'HEAD') cur.head = val;
    else if (key === 'branch') cur.branch = val;
    else if (key === 'bare') cur.bare = true;
    else if (key === 'detached') cur.detached = true;
    else if (key === 'locked') cur.locked = val;
    else if (key === 'prunable') cur.prunable = true;
  }
  if (cur) entries.push(cur);
  return entries;
}

/** Paths that `git status` reports (staged, unstaged, untracked; not ignored), at most `max`.
 *  In a task's worktree, pass pinnedGitEnv() (git-dir.ts): its own `.git` is not to be followed. */
export async function dirtyPaths(cwd: string, max = 50, env?: Readonly<Record<string, string>>): Promise<string[]> {
  const r = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=dirty'], { cwd, ...(env ? { env } : {}) });
  const out: string[] = [];
  const fields = r.stdout.split('\0');
  for (let i = 0; i < fields.length && out.length < max; i++) {
    const f = fields[i]!;
    if (f.length < 4) continue;
    out.push(f.slice(3));
    if (f[0] === 'R' || f[0] === 'C') i++; // a rename's source path follows as its own field
  }
  return out;
}

/** Author/committer variables for `Name <email>`. */
export function identityEnv(author: { name: string; email: string }): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
}
