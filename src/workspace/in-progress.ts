// An unfinished rebase, merge, cherry-pick, revert, `git am` or bisect in a person's checkout, read
// from git's own state files (the ones `git status` reads). `git rev-parse --git-path` says where
// they are: a linked worktree keeps them in its own git dir (.git/worktrees/<name>/), not the shared one.
//
// Such a checkout is mid-way: during a rebase HEAD is detached and the branch is about to be
// rewritten; during the others the index holds a half-done result. Moving its branch under it, or
// forking a task from it, would be wrong, so the callers refuse with unfinishedError().
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WorkspaceError } from './errors.js';
import { git, type WorktreeEntry } from './git.js';
import { realish } from './paths.js';

export type GitOperation = 'rebase' | 'am' | 'merge' | 'cherry-pick' | 'revert' | 'bisect';

export interface Unfinished {
  operation: GitOperation;
  /** The checkout it is unfinished in. */
  checkout: string;
  /** refs/heads/… that a rebase rewrites or a bisect started from; undefined when unknown or detached. */
  branch?: string;
}

const NAMES = ['rebase-merge', 'rebase-apply', 'MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'sequencer/todo', 'BISECT_START'] as const;

/** `git rev-parse` arguments printing where each state file is, one line each (read by unfinishedFrom). */
export const STATE_PATH_ARGS: readonly string[] = NAMES.flatMap((n) => ['--git-path', n]);

/** The operation unfinished in `checkout`, if any (one `git rev-parse`). */
export async function unfinishedIn(checkout: string): Promise<Unfinished | undefined> {
  const r = await git(['rev-parse', ...STATE_PATH_ARGS], { cwd: checkout });
  return unfinishedFrom(checkout, r.stdout.split('\n'));
}

/** From the lines STATE_PATH_ARGS printed (relative to `cwd`, where rev-parse ran). */
export function unfinishedFrom(checkout: string, lines: readonly string[], cwd = checkout): Unfinished | undefined {
  const at = (name: (typeof NAMES)[number]) => {
    const line = lines[NAMES.indexOf(name)];
    return line ? resolve(cwd, line) : undefined;
  };
  const has = (name: (typeof NAMES)[number]) => {
    const p = at(name);
    return p !== undefined && existsSync(p);
  };
  // The order of git's own wt-status.c: a rebase's folder first, `applying` in rebase-apply means `git am`.
  if (has('rebase-merge') || has('rebase-apply')) {
    const dir = has('rebase-merge') ? at('rebase-merge')! : at('rebase-apply')!;
    if (existsSync(join(dir, 'applying'))) return { operation: 'am', checkout };
    const head = readSmall(join(dir, 'head-name'));
    return { operation: 'rebase', checkout, ...(head?.startsWith('refs/heads/') ? { branch: head } : {}) };
  }
  if (has('MERGE_HEAD')) return { operation: 'merge', checkout };
  if (has('CHERRY_PICK_HEAD')) return { operation: 'cherry-pick', checkout };
  if (has('REVERT_HEAD')) return { operation: 'revert', checkout };
  if (has('sequencer/todo')) {
    // A cherry-pick or revert of several commits, stopped between two of them.
    const first = /^\s*(\w+)/m.exec(readSmall(at('sequencer/todo')!) ?? '')?.[1];
    return { operation: first === 'revert' ? 'revert' : 'cherry-pick', checkout };
  }
  if (has('BISECT_START')) {
    // BISECT_START holds the branch bisect started from (or a commit id when HEAD was detached).
    const start = readSmall(at('BISECT_START')!);
    return { operation: 'bisect', checkout, ...(start ? { branch: `refs/heads/${start}` } : {}) };
  }
  return undefined;
}

/**
 * The first unfinished operation on `branch` in the repository's checkouts: in one that has it
 * checked out, or a rebase or bisect of it in one whose HEAD it detached. `known` spares the
 * `git rev-parse` of a checkout the caller has already looked at.
 */
export async function unfinishedOn(worktrees: readonly WorktreeEntry[], branch: string, known?: { path: string; unfinished: Unfinished | undefined }): Promise<Unfinished | undefined> {
  const ref = `refs/heads/${branch}`;
  for (const wt of worktrees) {
    if (wt.bare || wt.prunable || !(wt.branch === ref || wt.detached) || !existsSync(wt.path)) continue;
    const u = known && (await realish(wt.path)) === known.path ? known.unfinished : await unfinishedIn(wt.path);
    if (u && (wt.branch === ref || u.branch === ref)) return u;
  }
  return undefined;
}

const FIX: Record<GitOperation, string> = {
  rebase: 'git rebase --continue, or git rebase --abort',
  am: 'git am --continue, or git am --abort',
  merge: 'commit it, or git merge --abort',
  'cherry-pick': 'git cherry-pick --continue, or git cherry-pick --abort',
  revert: 'git revert --continue, or git revert --abort',
  bisect: 'git bisect reset',
};

/** BASE_DIRTY (permanent: a person has to act) naming the operation, where it is, and the fix. */
export function unfinishedError(u: Unfinished, lead: string, then: string): WorkspaceError {
  const name = u.operation === 'am' ? 'git am' : u.operation;
  const todo = u.operation === 'bisect' ? 'finish' : 'finish or abort';
  return new WorkspaceError('BASE_DIRTY', `${lead}: ${u.checkout} is in the middle of a ${name}; ${todo} the ${name} in ${u.checkout} (${FIX[u.operation]}), then ${then}`, {
    details: { operation: u.operation },
  });
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined; // finished (and removed) meanwhile
  }
}
