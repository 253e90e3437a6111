// Git for remote runs (QUEUE_URL): where a worker clones from, the base it starts at, and fetching
// the branch it pushed back into the person's repository, so review, diff and merge work on it as
// on a local worktree's branch. Never pushes and never touches a checkout: only refs/heads/<branch>.
import { realpath } from 'node:fs/promises';
import { relative } from 'node:path';
import { WorkspaceError } from './errors.js';
import { git, isAncestor, listWorktrees, resolveCommit } from './git.js';
import { checkBranchName } from './preflight.js';
import { taskBranch } from './worktree.js';

export interface RemoteSource {
  /** Top of the person's checkout. */
  repoRoot: string;
  /** working_dir relative to repoRoot ('' at the top). */
  subdir: string;
  /** The URL workers clone from and push to: the repository's `origin` remote. */
  remoteUrl: string;
  baseBranch: string;
  baseCommit: string;
  branch: string;
}

/** Throws WorkspaceError: NOT_A_REPO, NO_REMOTE, BASE_BRANCH_MISSING, BRANCH_INVALID (permanent). */
export async function remoteSource(req: { taskId: string; workingDir: string; branch?: string; baseBranch?: string }): Promise<RemoteSource> {
  const top = await git(['rev-parse', '--show-toplevel'], { cwd: req.workingDir, okExitCodes: [128] });
  if (top.exitCode !== 0) throw new WorkspaceError('NOT_A_REPO', `working_dir ${req.workingDir} is not inside a git working tree; remote runs (QUEUE_URL) need one with an origin remote`);
  const repoRoot = await realpath(top.stdout.trim());
  const subdir = relative(repoRoot, await realpath(req.workingDir));
  const url = await git(['remote', 'get-url', 'origin'], { cwd: repoRoot, okExitCodes: [2, 128] });
  const remoteUrl = url.exitCode === 0 ? url.stdout.trim() : '';
  if (!remoteUrl) throw new WorkspaceError('NO_REMOTE', `${repoRoot} has no origin remote; remote workers clone from it and push the task branch to it (git remote add origin <url>)`);
  const head = await git(['symbolic-ref', '-q', '--short', 'HEAD'], { cwd: repoRoot, okExitCodes: [1] });
  const baseBranch = req.baseBranch?.trim() || (head.exitCode === 0 ? head.stdout.trim() : '');
  if (!baseBranch) throw new WorkspaceError('BASE_BRANCH_MISSING', `HEAD is detached in ${repoRoot}; check out a branch or set base_branch in the note`);
  const baseCommit = await resolveCommit(repoRoot, `refs/heads/${baseBranch}`);
  if (!baseCommit) throw new WorkspaceError('BASE_BRANCH_MISSING', `base branch ${JSON.stringify(baseBranch)} does not exist in ${repoRoot}`);
  const branch = taskBranch(req.taskId, req.branch);
  await checkBranchName(repoRoot, branch);
  return { repoRoot, subdir, remoteUrl, baseBranch, baseCommit, branch };
}

/**
 * Fetch the branch a worker pushed into the person's repository as refs/heads/<branch>. It lands in
 * a private ref first; the local branch then moves only forward (compare-and-swap), so commits a
 * person made on it are never replaced, and never while it is checked out. Throws GIT_FAILED
 * (transient) when the remote cannot be reached or does not hold `headCommit`; BRANCH_INVALID or
 * BRANCH_CHECKED_OUT (permanent, nothing changed) when the local branch cannot follow.
 */
export async function fetchTaskBranch(repoRoot: string, remoteUrl: string, branch: string, headCommit: string): Promise<void> {
  await checkBranchName(repoRoot, branch);
  const ref = `refs/heads/${branch}`;
  const fetched = `refs/vaultrunner/fetched/${branch}`;
  await git(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--end-of-options', remoteUrl, `+${ref}:${fetched}`], { cwd: repoRoot });
  try {
    const got = await resolveCommit(repoRoot, fetched);
    if (got !== headCommit) throw new WorkspaceError('GIT_FAILED', `the remote branch ${branch} is at ${got ?? 'nothing'}, not at the worker's ${headCommit}`);
    const local = await resolveCommit(repoRoot, ref);
    if (local === headCommit) return;
    if (local && !(await isAncestor(repoRoot, local, headCommit))) {
      throw new WorkspaceError('BRANCH_INVALID', `the local branch ${branch} in ${repoRoot} has commits the worker's ${headCommit.slice(0, 10)} does not contain; nothing was overwritten (rename your branch or merge the remote one into it, then set the task to planned again)`);
    }
    const holder = (await listWorktrees(repoRoot)).find((w) => w.branch === ref && !w.prunable);
    if (holder) throw new WorkspaceError('BRANCH_CHECKED_OUT', `the task branch ${branch} is checked out in ${holder.path}; switch that checkout to another branch so the worker's result can be fetched`);
    // '' as the old value: the branch must still not exist.
    const upd = await git(['update-ref', '-m', `vaultrunner: fetched ${branch} from the worker`, ref, headCommit, local ?? ''], { cwd: repoRoot, okExitCodes: [128] });
    if (upd.exitCode !== 0) throw new WorkspaceError('BASE_MOVED', `the local branch ${branch} changed while fetching; try again`, { details: { stderr: upd.stderr } });
  } finally {
    await git(['update-ref', '-d', fetched], { cwd: repoRoot, okExitCodes: [1, 128] }).catch(() => undefined);
  }
}
