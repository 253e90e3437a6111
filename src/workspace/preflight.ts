// Pre-flight: everything that can be known to fail before the first spawn, each with a clear
// message and a typed code (permanent unless errors.ts says otherwise).
import { constants } from 'node:fs';
import { access, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { WorkspaceError } from './errors.js';
import { dirtyPaths, git, listWorktrees, resolveCommit, type WorktreeEntry } from './git.js';
import { STATE_PATH_ARGS, unfinishedError, unfinishedFrom, unfinishedOn } from './in-progress.js';
import { isInside, realish } from './paths.js';
import { worktreePathFor } from './worktree.js';

export type WorkspaceMode = 'worktree' | 'in-place';

export interface PreflightRequest {
  /** The task's working_dir, already resolved and checked against WORKSPACE_ROOTS. */
  workingDir: string;
  mode: WorkspaceMode;
  /** Worktree mode: the task's branch (see taskBranch()). */
  branch?: string;
  /** The note's base_branch; default: the branch checked out in workingDir. */
  baseBranch?: string;
  /** Worktree mode: WORKTREES_DIR (created when missing). */
  worktreesDir?: string;
  /** Worktree mode: the task id, which names its worktree folder (worktreePathFor()). */
  taskId?: string;
  /** The vault root: worktrees must never be inside it. */
  vaultDir: string;
  /** In-place mode: the note's allow_dirty. */
  allowDirty?: boolean;
}

export interface PreflightResult {
  /** Top of the working tree that holds workingDir (the person's checkout). */
  repoRoot: string;
  /** The repository's common git dir (shared by all its worktrees). */
  commonDir: string;
  /** workingDir relative to repoRoot ('' at the top); the agent runs in the same subfolder of its worktree. */
  subdir: string;
  baseBranch: string;
  baseCommit: string;
  /** The branch checked out in workingDir, undefined when HEAD is detached. */
  currentBranch?: string;
  /** Worktree mode: where the task's worktree is (or goes). */
  worktreePath?: string;
  /** Worktree mode: the repository's worktrees as pre-flight read them (createWorktree looks its own up there). */
  worktrees?: readonly WorktreeEntry[];
}

export async function preflight(req: PreflightRequest): Promise<PreflightResult> {
  // A missing git surfaces here as GIT_MISSING (spawn ENOENT), before anything else is looked at.
  // The same call says where git keeps the state of an unfinished rebase, merge, … (in-progress.ts).
  const top = await git(['rev-parse', '--show-toplevel', '--git-common-dir', ...STATE_PATH_ARGS], { cwd: req.workingDir, okExitCodes: [128] });
  if (top.exitCode !== 0) throw new WorkspaceError('NOT_A_REPO', `working_dir ${req.workingDir} is not inside a git working tree`);
  const [toplevel = '', common = '', ...statePaths] = top.stdout.split('\n');
  const repoRoot = await realpath(toplevel);
  const commonDir = await realpath(resolve(req.workingDir, common));
  const subdir = relative(repoRoot, await realpath(req.workingDir));
  const unfinished = unfinishedFrom(repoRoot, statePaths, req.workingDir);
  // In place the agent would work in, and commit on, a half-done operation; allow_dirty is about files.
  if (req.mode === 'in-place' && unfinished) throw unfinishedError(unfinished, `the task cannot work in ${repoRoot}`, 'run the task again');

  const head = await git(['symbolic-ref', '-q', 'HEAD'], { cwd: repoRoot, okExitCodes: [1] });
  const currentRef = head.exitCode === 0 ? head.stdout.trim() : undefined;
  const currentBranch = currentRef?.startsWith('refs/heads/') ? currentRef.slice('refs/heads/'.length) : undefined;

  const wanted = req.mode === 'in-place' ? undefined : req.baseBranch?.trim() || undefined;
  const baseBranch = wanted ?? currentBranch;
  const baseCommit = baseBranch ? await resolveCommit(repoRoot, `refs/heads/${baseBranch}`) : undefined;
  if (!baseCommit) {
    const anyRef = await git(['for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads'], { cwd: repoRoot });
    if (anyRef.stdout.trim() === '') throw new WorkspaceError('NO_COMMITS', `the repository at ${repoRoot} has no commits yet; commit something first`);
    if (!baseBranch && unfinished) throw unfinishedError(unfinished, `HEAD is detached in ${repoRoot}`, 'run the task again');
    if (!baseBranch) throw new WorkspaceError('BASE_BRANCH_MISSING', `HEAD is detached in ${repoRoot}; check out a branch or set base_branch in the note`);
    throw new WorkspaceError('BASE_BRANCH_MISSING', `base branch ${JSON.stringify(baseBranch)} does not exist in ${repoRoot}`);
  }
  const result: PreflightResult = { repoRoot, commonDir, subdir, baseBranch: baseBranch!, baseCommit, ...(currentBranch ? { currentBranch } : {}) };

  if (req.mode === 'in-place') {
    if (!req.allowDirty) {
      const dirty = await dirtyPaths(repoRoot, 10);
      if (dirty.length) {
        throw new WorkspaceError('TREE_DIRTY', `${repoRoot} has uncommitted changes (${describe(dirty)}); commit or stash them, or set allow_dirty: true`, { details: { files: dirty } });
      }
    }
    return result;
  }

  if (!req.branch || !req.worktreesDir || !req.taskId) throw new TypeError('preflight: worktree mode needs branch, worktreesDir and taskId');
  await checkBranchName(repoRoot, req.branch);
  // Committing on the base itself would skip review: the merge would find the work already there.
  if (req.branch === result.baseBranch) throw new WorkspaceError('BRANCH_INVALID', `the task's branch ${JSON.stringify(req.branch)} is its base branch; a task works on a branch of its own (leave branch unset for vr/<task id>)`);
  const worktreesDir = await checkWorktreesDir(req.worktreesDir, req.vaultDir, repoRoot);
  const wantPath = worktreePathFor(worktreesDir, commonDir, repoRoot, req.taskId);
  const worktrees = await listWorktrees(repoRoot);
  for (const wt of worktrees) {
    if (wt.branch !== `refs/heads/${req.branch}`) continue;
    if ((await realish(wt.path)) === wantPath) continue; // the task's own worktree: a resume
    throw new WorkspaceError('BRANCH_CHECKED_OUT', `branch ${JSON.stringify(req.branch)} is already checked out in ${wt.path}; a worktree needs a branch of its own`);
  }
  // A base being rebased is about to be rewritten: a task forked from its old tip would bring the
  // pre-rebase commits back when merged. A merge, cherry-pick, … only adds commits later, so the
  // tip stays a sound fork point (the merge step waits for them). A task whose branch exists
  // already (a retry, a follow-up) keeps the fork point it has.
  const rebase = await unfinishedOn(worktrees, result.baseBranch, { path: repoRoot, unfinished });
  if (rebase?.operation === 'rebase' && !(await resolveCommit(repoRoot, `refs/heads/${req.branch}`))) {
    throw unfinishedError(rebase, `no task branch can fork from ${result.baseBranch} while it is being rebased`, 'run the task again');
  }
  return { ...result, worktreePath: wantPath, worktrees };
}

/** Refuses names git would not take as a branch (`git check-ref-format --branch`). */
export async function checkBranchName(cwd: string, branch: string): Promise<void> {
  const r = await git(['check-ref-format', '--branch', branch], { cwd, okExitCodes: [1, 128] });
  if (r.exitCode !== 0 || branch.startsWith('-')) throw new WorkspaceError('BRANCH_INVALID', `${JSON.stringify(branch)} is not a valid git branch name`);
}

/** WORKTREES_DIR exists (created if needed), is writable, and is neither in the vault nor in the repository. */
export async function checkWorktreesDir(dir: string, vaultDir: string, repoRoot?: string): Promise<string> {
  if (!isAbsolute(dir)) throw new WorkspaceError('WORKTREES_DIR_UNWRITABLE', `WORKTREES_DIR ${JSON.stringify(dir)} must be an absolute path`);
  const real = await realish(dir);
  if (isInside(real, await realish(vaultDir))) {
    throw new WorkspaceError('WORKTREES_DIR_INSIDE', `WORKTREES_DIR ${dir} is inside the vault; Obsidian would index the code and sync tools upload it. Choose a folder outside the vault`);
  }
  if (repoRoot && isInside(real, repoRoot)) {
    throw new WorkspaceError('WORKTREES_DIR_INSIDE', `WORKTREES_DIR ${dir} is inside the repository ${repoRoot}; its worktrees would show up in your git status. Choose a folder outside it`);
  }
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    // access() says yes to root for any mode; a real write says what the filesystem thinks.
    const probe = join(dir, `.vaultrunner-probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (err) {
    throw new WorkspaceError('WORKTREES_DIR_UNWRITABLE', `WORKTREES_DIR ${dir} cannot be created or written (${(err as NodeJS.ErrnoException).code ?? 'error'}); fix the path or its permissions`, { cause: err });
  }
  return real;
}

function describe(paths: readonly string[]): string {
  return paths.length > 3 ? `${paths.slice(0, 3).join(', ')} and more` : paths.join(', ');
}
