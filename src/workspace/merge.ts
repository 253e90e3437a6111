// Merging a task branch into its base without ever touching a person's uncommitted changes and
// never stopping half-way.
//
// How (docs/workspaces.md has the long form):
// 1. The result is computed away from every checkout: ff takes the task branch's commit; merge and
//    squash run `git merge-tree --write-tree` (an in-memory merge: conflicts are reported with their
//    files and nothing is written anywhere) and `commit-tree` with one or two parents.
// 2. Only then is the base moved, in one step that checks the base is still where we read it:
//    - base not checked out anywhere: `update-ref <base> <new> <old>` (atomic compare-and-swap);
//    - base checked out in a clean tree: `git merge --ff-only <new>` in that checkout, which moves
//      ref, index and files together and refuses (changing nothing) if anything moved meanwhile;
//    - base checked out in a dirty tree (untracked files included): refused, BASE_DIRTY;
//    - an unfinished rebase, merge, cherry-pick, revert, am or bisect of the base, in any checkout
//      (a rebase detaches HEAD, so it is found by its state files, not by the checked-out branch):
//      refused, BASE_DIRTY naming it.
// 3. Idempotent: if the base already contains the work (a re-run after a crash right after step 2),
//    the answer is 'already-merged' and nothing is done twice.
import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { faultPoint } from '../fault.js';
import { WorkspaceError } from './errors.js';
import { dirtyPaths, git, identityEnv, isAncestor, listWorktrees, resolveCommit } from './git.js';
import { DEFAULT_AUTHOR, type Author } from './commit.js';
import { unfinishedError, unfinishedOn } from './in-progress.js';
import { mergedInto } from './worktree.js';

export const MERGE_MODES = ['none', 'ff', 'merge', 'squash'] as const;
export type MergeMode = (typeof MERGE_MODES)[number];

export interface MergeRequest {
  repoRoot: string;
  branch: string;
  baseBranch: string;
  mode: MergeMode;
  taskId: string;
  title: string;
  author?: Author;
  /** Called right before the base moves (tests interleave a concurrent change here). */
  beforeUpdate?: () => void | Promise<void>;
}

export type MergeResult =
  | { status: 'skipped'; mode: 'none' }
  | { status: 'already-merged'; mode: MergeMode; baseCommit: string }
  | {
      status: 'merged';
      mode: Exclude<MergeMode, 'none'>;
      /** The base branch's new commit. */
      commit: string;
      /** Where the base branch was before. */
      previous: string;
      /** The checkout whose files were updated (the base was checked out there, clean); else undefined. */
      checkout?: string;
    };

export async function mergeTask(req: MergeRequest): Promise<MergeResult> {
  if (req.mode === 'none') return { status: 'skipped', mode: 'none' };
  const { repoRoot } = req;
  const base = await resolveCommit(repoRoot, `refs/heads/${req.baseBranch}`);
  if (!base) throw new WorkspaceError('BASE_BRANCH_MISSING', `base branch ${JSON.stringify(req.baseBranch)} does not exist in ${repoRoot}`);
  const tip = await resolveCommit(repoRoot, `refs/heads/${req.branch}`);
  if (!tip) throw new WorkspaceError('BRANCH_INVALID', `task branch ${JSON.stringify(req.branch)} does not exist in ${repoRoot}`);

  if (await isAncestor(repoRoot, tip, base)) return { status: 'already-merged', mode: req.mode, baseCommit: base };
  if (req.mode !== 'ff' && (await mergedInto(repoRoot, base, req.branch))) return { status: 'already-merged', mode: req.mode, baseCommit: base };

  // Where the base is checked out decides how it may move; a dirty checkout stops everything here.
  // A checkout whose folder is gone (prunable) holds no files to protect: the ref alone moves.
  const worktrees = await listWorktrees(repoRoot);
  const checkout = worktrees.find((w) => w.branch === `refs/heads/${req.baseBranch}` && !w.prunable);
  // Before the dirty check, so a conflicted merge is named as the merge it is. A rebase finishing
  // later would overwrite (or trip over) a base moved under it; `merge --ff-only` would refuse a
  // checkout with MERGE_HEAD as if the base had moved (BASE_MOVED, retried for ever).
  const unfinished = await unfinishedOn(worktrees, req.baseBranch);
  if (unfinished) throw unfinishedError(unfinished, `${req.baseBranch} cannot be merged into`, 'merge again');
  if (checkout) {
    const dirty = await dirtyPaths(checkout.path, 10);
    if (dirty.length) {
      throw new WorkspaceError(
        'BASE_DIRTY',
        `${req.baseBranch} is checked out in ${checkout.path} with uncommitted changes (${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ' and more' : ''}); commit or stash them, then merge again`,
        { details: { files: dirty } },
      );
    }
  }

  let commit: string;
  if (req.mode === 'ff') {
    if (!(await isAncestor(repoRoot, base, tip))) {
      throw new WorkspaceError('NOT_FAST_FORWARD', `${req.baseBranch} has moved on since ${req.branch} forked from it; a fast-forward is not possible (use MERGE=merge or squash, or rebase the branch)`);
    }
    commit = tip;
  } else {
    const tree = await mergeTree(repoRoot, base, tip, req.branch, req.baseBranch);
    const parents = req.mode === 'merge' ? ['-p', base, '-p', tip] : ['-p', base];
    const msg = mergeMessage(req, tip);
    commit = (await git(['commit-tree', '--no-gpg-sign', tree, ...parents, '-F', '-'], { cwd: repoRoot, env: identityEnv(req.author ?? DEFAULT_AUTHOR), input: msg })).stdout.trim();
  }

  if (checkout) await refuseOverwritingIgnored(repoRoot, checkout.path, base, commit, req.baseBranch);

  const reflog = { GIT_REFLOG_ACTION: `vaultrunner ${req.mode} ${req.branch}` };
  faultPoint('merge-before-update');
  await req.beforeUpdate?.();
  if (!checkout) {
    const r = await git(['update-ref', '-m', `vaultrunner: ${req.mode} ${req.branch}`, `refs/heads/${req.baseBranch}`, commit, base], { cwd: repoRoot, okExitCodes: [128] });
    if (r.exitCode !== 0) throw moved(req.baseBranch, r.stderr);
    faultPoint('merge-after-update');
    return { status: 'merged', mode: req.mode, commit, previous: base };
  }
  // --ff-only from the commit we built on `base`: if the checkout's HEAD is no longer `base`, git
  // refuses and changes nothing.
  // --no-overwrite-ignore: a file the person keeps ignored (a local config) is never replaced.
  const r = await git(['merge', '--ff-only', '--no-overwrite-ignore', '--no-stat', '-q', commit], { cwd: checkout.path, env: reflog, okExitCodes: [1, 128] });
  if (r.exitCode !== 0 || (await resolveCommit(repoRoot, `refs/heads/${req.baseBranch}`)) !== commit) throw moved(req.baseBranch, r.stderr);
  faultPoint('merge-after-update');
  return { status: 'merged', mode: req.mode, commit, previous: base, checkout: checkout.path };
}

/**
 * Files the merge adds that already exist in the clean checkout are ignored files of the person's
 * (a clean status has no untracked ones): moving the checkout would replace them. Refused, named.
 */
async function refuseOverwritingIgnored(repoRoot: string, checkout: string, base: string, commit: string, baseBranch: string): Promise<void> {
  const added = (await git(['diff-tree', '-r', '--name-only', '--no-renames', '--diff-filter=A', '-z', base, commit, '--'], { cwd: repoRoot })).stdout.split('\0').filter(Boolean);
  const taken = added.filter((p) => lstatOrUndefined(join(checkout, p)) !== undefined);
  if (taken.length === 0) return;
  throw new WorkspaceError(
    'BASE_DIRTY',
    `${baseBranch} is checked out in ${checkout}, where the merge would overwrite ignored file(s) of yours (${taken.slice(0, 3).join(', ')}${taken.length > 3 ? ' and more' : ''}); move them aside, then merge again`,
    { details: { files: taken } },
  );
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function moved(baseBranch: string, stderr: string): WorkspaceError {
  return new WorkspaceError('BASE_MOVED', `${baseBranch} changed while merging (a new commit, or new files in its checkout); nothing was merged, try again`, { details: { stderr } });
}

/** The merged tree of base and tip, or MERGE_CONFLICT naming the files; writes no ref, index or file. */
async function mergeTree(repoRoot: string, base: string, tip: string, branch: string, baseBranch: string): Promise<string> {
  const r = await git(['merge-tree', '--write-tree', '--no-messages', '--name-only', '-z', base, tip], { cwd: repoRoot, okExitCodes: [1] });
  const fields = r.stdout.split('\0');
  if (r.exitCode === 0) return fields[0]!.trim();
  const files = [...new Set(fields.slice(1).filter(Boolean))];
  throw new WorkspaceError('MERGE_CONFLICT', `${branch} conflicts with ${baseBranch} in ${files.length} file(s): ${files.slice(0, 5).join(', ')}${files.length > 5 ? ' and more' : ''}; nothing was changed`, { details: { files } });
}

function mergeMessage(req: MergeRequest, tip: string): string {
  const title = req.title.replace(/\s+/g, ' ').trim() || req.taskId;
  const subject = req.mode === 'merge' ? `Merge branch '${req.branch}': ${title}` : title;
  const body = req.mode === 'squash' ? `\n\nSquashed from ${req.branch} at ${tip}.` : '';
  return `${subject}${body}\n\nVaultrunner-Task: ${req.taskId.replace(/\s+/g, ' ')}\n`;
}
