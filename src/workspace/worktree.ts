// One git worktree per task, outside the vault and outside the person's checkout. Creating is
// idempotent: a retry, a resume or a follow-up finds the same worktree on the same branch, and a
// crash between `worktree add` and recording it in the note is recovered by simply calling again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { faultPoint } from '../fault.js';
import { WorkspaceError } from './errors.js';
import { dirtyPaths, git, listWorktrees, resolveCommit, type WorktreeEntry } from './git.js';
import { pinnedGitEnv } from './git-dir.js';
import { realish } from './paths.js';

/** `$XDG_DATA_HOME/vaultrunner/worktrees`, else `~/.local/share/vaultrunner/worktrees`. */
export function defaultWorktreesDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME?.trim();
  if (xdg && isAbsolute(xdg)) return join(xdg, 'vaultrunner', 'worktrees');
  return join(env.HOME ?? '/', '.local', 'share', 'vaultrunner', 'worktrees');
}

const SLUG_MAX = 48;

/**
 * A short name safe for git refs and file names: ASCII letters, digits, `.`, `_`, `-`; no `..`,
 * no leading dot or dash, no trailing `.lock`. When it had to change the id (accents dropped,
 * characters replaced, cut), a short hash of the id keeps two different ids apart.
 */
export function slugify(id: string, max = SLUG_MAX): string {
  let s = id
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  if (s.endsWith('.lock')) s = s.slice(0, -5);
  if (s === id && s.length <= max) return s;
  const hash = createHash('sha1').update(id).digest('hex').slice(0, 6);
  const head = s.slice(0, max - 7).replace(/[-.]+$/, '');
  return head ? `${head}-${hash}` : `task-${hash}`;
}

/** The task's branch: the note's `branch` when it gives one, else `vr/<slug of the task id>`. */
export function taskBranch(taskId: string, noteBranch?: string): string {
  const b = noteBranch?.trim();
  return b ? b : `vr/${slugify(taskId)}`;
}

/** `<WORKTREES_DIR>/<repo name>-<hash of its git dir>/<task slug>`: one folder per repository. */
export function worktreePathFor(worktreesDir: string, commonDir: string, repoRoot: string, taskId: string): string {
  const repoKey = `${slugify(basename(repoRoot), 32)}-${createHash('sha1').update(resolve(commonDir)).digest('hex').slice(0, 8)}`;
  return join(worktreesDir, repoKey, slugify(taskId));
}

export interface CreateWorktreeRequest {
  repoRoot: string;
  /** Where the worktree goes (worktreePathFor()). */
  path: string;
  branch: string;
  baseBranch: string;
  /** The commit a new branch starts from (preflight's baseCommit). */
  baseCommit: string;
  /** working_dir relative to the repository root: the agent's cwd inside the worktree. */
  subdir?: string;
  /** The repository's worktrees, when the caller has just listed them (pre-flight): saves a `git worktree list`. */
  worktrees?: readonly WorktreeEntry[];
}

export interface Workspace {
  mode: 'worktree' | 'in-place';
  /** Top of the checkout the agent works in. */
  root: string;
  /** The agent's cwd: root plus the working_dir's subfolder. */
  cwd: string;
  /** The person's repository (its main checkout). */
  repoRoot: string;
  branch: string;
  baseBranch: string;
  /** Where the branch forked from the base (the recorded base_commit). */
  baseCommit: string;
  /** False when an existing worktree was picked up again (retry, resume, follow-up, crash). */
  created: boolean;
}

/** Create the task's worktree, or find the one it already has. */
export async function createWorktree(req: CreateWorktreeRequest): Promise<Workspace> {
  const path = await realish(req.path);
  const entry = await findEntry(req.repoRoot, path, req.worktrees);
  const done = async (created: boolean): Promise<Workspace> => ({
    mode: 'worktree',
    root: path,
    cwd: req.subdir ? join(path, req.subdir) : path,
    repoRoot: req.repoRoot,
    branch: req.branch,
    baseBranch: req.baseBranch,
    baseCommit: created ? req.baseCommit : await forkPoint(req.repoRoot, req.baseBranch, req.branch, req.baseCommit),
    created,
  });
  if (entry) {
    // git marks a worktree 'initializing' until `worktree add` finishes: this one was cut short
    // by a crash, so nothing of ours can be in it yet, and it is made again. A prunable one lost
    // its folder; only its registration goes (never `worktree prune`, which would touch the
    // person's other worktrees too). The branch, and every commit on it, stays.
    if (entry.locked === 'initializing' || entry.prunable) {
      await git(['worktree', 'remove', '--force', '--force', path], { cwd: req.repoRoot });
    } else if (entry.branch === `refs/heads/${req.branch}`) {
      return done(false);
    } else {
      throw new WorkspaceError('WORKTREE_PATH_TAKEN', `${path} is a worktree of ${entry.branch ?? 'a detached HEAD'}, not of ${req.branch}; remove it or rename the task`);
    }
  }
  await clearLeftover(path);
  const exists = (await resolveCommit(req.repoRoot, `refs/heads/${req.branch}`)) !== undefined;
  const args = exists ? ['worktree', 'add', '-q', path, req.branch] : ['worktree', 'add', '-q', '--no-track', '-b', req.branch, path, req.baseCommit];
  await git(args, { cwd: req.repoRoot });
  faultPoint('after-worktree-add');
  return done(!exists);
}

/** The in-place "workspace": the person's own checkout, on whatever branch it has. */
export function inPlaceWorkspace(pre: { repoRoot: string; subdir: string; baseBranch: string; baseCommit: string }): Workspace {
  return {
    mode: 'in-place',
    root: pre.repoRoot,
    cwd: pre.subdir ? join(pre.repoRoot, pre.subdir) : pre.repoRoot,
    repoRoot: pre.repoRoot,
    branch: pre.baseBranch,
    baseBranch: pre.baseBranch,
    baseCommit: pre.baseCommit,
    created: false,
  };
}

async function findEntry(repoRoot: string, path: string, known?: readonly WorktreeEntry[]): Promise<WorktreeEntry | undefined> {
  for (const wt of known ?? (await listWorktrees(repoRoot))) if ((await realish(wt.path)) === path) return wt;
  return undefined;
}

async function forkPoint(repoRoot: string, baseBranch: string, branch: string, fallback: string): Promise<string> {
  const r = await git(['merge-base', `refs/heads/${baseBranch}`, `refs/heads/${branch}`], { cwd: repoRoot, okExitCodes: [1, 128] });
  return r.exitCode === 0 ? r.stdout.trim() : fallback;
}

/** A folder at the path that git does not know: removed only if it holds nothing of anyone's. */
async function clearLeftover(path: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch {
    return; // not there: the normal case
  }
  if (names.length === 0) return rmdir(path);
  if (names.length === 1 && names[0] === '.git' && (await stat(join(path, '.git'))).isFile()) return rm(path, { recursive: true });
  throw new WorkspaceError('WORKTREE_PATH_TAKEN', `${path} exists and is not a worktree of this repository; move it away first`);
}

/** Remove a task's worktree, keeping its branch. Uncommitted changes are refused unless `discardChanges`. */
export async function removeWorktree(repoRoot: string, path: string, opts: { discardChanges?: boolean } = {}): Promise<boolean> {
  const real = await realish(path);
  const entry = await findEntry(repoRoot, real);
  if (!entry) return false;
  if (!opts.discardChanges && !entry.prunable) {
    const dirty = await dirtyPaths(real, 10, await pinnedGitEnv(repoRoot, real));
    if (dirty.length) throw new WorkspaceError('TREE_DIRTY', `the worktree ${real} has uncommitted changes (${dirty.slice(0, 3).join(', ')}); commit them first`, { details: { files: dirty } });
  }
  await git(['worktree', 'remove', '--force', ...(entry.locked !== undefined ? ['--force'] : []), real], { cwd: repoRoot });
  return true;
}

/** Delete the task's worktree and its branch: only when a person asked (`vaultrunner discard`). */
export async function discardWorkspace(repoRoot: string, path: string, branch: string): Promise<{ worktree: boolean; branch: boolean }> {
  const worktree = await removeWorktree(repoRoot, path, { discardChanges: true });
  const had = (await resolveCommit(repoRoot, `refs/heads/${branch}`)) !== undefined;
  if (had) await git(['branch', '-D', '--', branch], { cwd: repoRoot });
  return { worktree, branch: had };
}

export interface WorktreeDirEntry {
  /** The worktree folder under WORKTREES_DIR. */
  path: string;
  /** The repository's common git dir, read from the folder's `.git` file; undefined if unreadable. */
  commonDir?: string;
  /** refs/heads/… checked out there, when git still knows the worktree. */
  branch?: string;
  /** Does the repository still list this worktree? */
  registered: boolean;
}

/** Every folder under WORKTREES_DIR, with what git knows of it (for doctor and gc). */
export async function scanWorktreesDir(worktreesDir: string): Promise<WorktreeDirEntry[]> {
  const out: WorktreeDirEntry[] = [];
  for (const repo of await readdir(worktreesDir).catch(() => [] as string[])) {
    for (const name of await readdir(join(worktreesDir, repo)).catch(() => [] as string[])) {
      const path = await realish(join(worktreesDir, repo, name));
      const commonDir = await commonDirOf(path);
      let entry: WorktreeEntry | undefined;
      if (commonDir) entry = (await listWorktrees(commonDir).catch(() => [])).find((w) => w.path === path);
      out.push({ path, ...(commonDir ? { commonDir } : {}), ...(entry?.branch ? { branch: entry.branch } : {}), registered: entry !== undefined });
    }
  }
  return out;
}

async function commonDirOf(worktree: string): Promise<string | undefined> {
  try {
    const m = /^gitdir: (.+)$/m.exec(await readFile(join(worktree, '.git'), 'utf8'));
    if (!m) return undefined;
    const gitdir = resolve(worktree, m[1]!.trim());
    const common = (await readFile(join(gitdir, 'commondir'), 'utf8')).trim();
    return await realish(resolve(gitdir, common));
  } catch {
    return undefined;
  }
}

export interface Orphans {
  /** Folders under WORKTREES_DIR that no task owns (or that git no longer knows). */
  worktrees: WorktreeDirEntry[];
  /** `vr/…` branches of the repositories seen that no task owns and no worktree has checked out. */
  branches: { commonDir: string; branch: string }[];
}

/** What doctor reports: worktrees and task branches nobody owns. `owned` holds worktree paths and branch names of live tasks. */
export async function listOrphans(worktreesDir: string, owned: { paths: ReadonlySet<string>; branches: ReadonlySet<string> }, prefix = 'vr/'): Promise<Orphans> {
  const all = await scanWorktreesDir(worktreesDir);
  const worktrees = all.filter((w) => !w.registered || !owned.paths.has(w.path));
  const branches: Orphans['branches'] = [];
  for (const commonDir of new Set(all.flatMap((w) => (w.commonDir ? [w.commonDir] : [])))) {
    const out = await git(['for-each-ref', '--format=%(refname:short)%00%(worktreepath)', `refs/heads/${prefix}`], { cwd: commonDir });
    for (const line of out.stdout.split('\n')) {
      const [branch, wt] = line.split('\0');
      if (branch && !wt && !owned.branches.has(branch)) branches.push({ commonDir, branch });
    }
  }
  return { worktrees, branches };
}

/**
 * `vaultrunner gc`: task branches (under `prefix`) whose work is already in `baseBranch` — merged,
 * fast-forwarded or squashed — lose their clean worktree and then the branch. Branches in `keep`
 * (live tasks) and worktrees with uncommitted changes are left alone.
 */
export async function gcMerged(repoRoot: string, baseBranch: string, opts: { keep?: ReadonlySet<string>; prefix?: string } = {}): Promise<string[]> {
  const base = await resolveCommit(repoRoot, `refs/heads/${baseBranch}`);
  if (!base) throw new WorkspaceError('BASE_BRANCH_MISSING', `base branch ${JSON.stringify(baseBranch)} does not exist in ${repoRoot}`);
  const refs = await git(['for-each-ref', '--format=%(refname:short)%00%(worktreepath)', `refs/heads/${opts.prefix ?? 'vr/'}`], { cwd: repoRoot });
  const removed: string[] = [];
  for (const line of refs.stdout.split('\n')) {
    const [branch, wt] = line.split('\0');
    if (!branch || branch === baseBranch || opts.keep?.has(branch)) continue;
    if (!(await mergedInto(repoRoot, base, branch))) continue;
    if (wt) {
      if (existsSync(wt) && (await dirtyPaths(wt, 1, await pinnedGitEnv(repoRoot, wt))).length) continue; // a folder deleted by hand holds nothing
      await removeWorktree(repoRoot, wt);
    }
    await git(['branch', '-D', '--', branch], { cwd: repoRoot });
    removed.push(branch);
  }
  return removed;
}

/** Would merging `branch` into `base` change nothing? True for merged, fast-forwarded and squashed work. */
export async function mergedInto(repoRoot: string, base: string, branch: string): Promise<boolean> {
  const r = await git(['merge-tree', '--write-tree', '--no-messages', base, `refs/heads/${branch}`], { cwd: repoRoot, okExitCodes: [1] });
  if (r.exitCode !== 0) return false;
  const baseTree = await git(['rev-parse', `${base}^{tree}`], { cwd: repoRoot });
  return r.stdout.split('\n')[0]!.trim() === baseTree.stdout.trim();
}
