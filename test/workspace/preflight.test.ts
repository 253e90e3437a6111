// Pre-flight on real repositories: each failure is its own typed, permanent error.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../src/workspace/errors.js';
import { setGitBaseEnv } from '../../src/workspace/git.js';
import { preflight, type PreflightRequest } from '../../src/workspace/preflight.js';
import { conflictingBranch, gitFails, sandbox, sh, type Sandbox } from './repo-fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => {
  setGitBaseEnv(process.env);
  sb.cleanup();
});

const req = (over: Partial<PreflightRequest> = {}): PreflightRequest => ({
  workingDir: sb.repo,
  mode: 'worktree',
  branch: 'vr/t1',
  taskId: 't1',
  worktreesDir: sb.worktrees,
  vaultDir: sb.vault,
  ...over,
});

async function code(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkspaceError);
  const w = err as WorkspaceError;
  expect(w.transient).toBe(false); // every pre-flight failure here is permanent
  return w.code;
}

describe('preflight', () => {
  it('answers repository root, subfolder, base branch and base commit', async () => {
    mkdirSync(join(sb.repo, 'src', 'deep'), { recursive: true });
    const r = await preflight(req({ workingDir: join(sb.repo, 'src') }));
    expect(r).toMatchObject({ repoRoot: sb.repo, subdir: 'src', baseBranch: 'main', currentBranch: 'main' });
    expect(r.baseCommit).toBe(sh(sb.repo, 'rev-parse', 'main'));
    expect(r.commonDir).toBe(join(sb.repo, '.git'));
  });

  it('uses the note’s base_branch when given', async () => {
    sh(sb.repo, 'branch', 'develop', 'HEAD~1');
    const r = await preflight(req({ baseBranch: 'develop' }));
    expect(r.baseBranch).toBe('develop');
    expect(r.baseCommit).toBe(sh(sb.repo, 'rev-parse', 'HEAD~1'));
  });

  it('GIT_MISSING when git is not on PATH', async () => {
    setGitBaseEnv({ ...process.env, PATH: join(sb.root, 'empty-bin') });
    expect(await code(preflight(req()))).toBe('GIT_MISSING');
  });

  it('NOT_A_REPO outside a working tree', async () => {
    const plain = join(sb.root, 'plain');
    mkdirSync(plain);
    expect(await code(preflight(req({ workingDir: plain })))).toBe('NOT_A_REPO');
  });

  it('NO_COMMITS in a fresh repository', async () => {
    const fresh = join(sb.root, 'fresh');
    mkdirSync(fresh);
    sh(fresh, 'init', '-q', '-b', 'main');
    expect(await code(preflight(req({ workingDir: fresh })))).toBe('NO_COMMITS');
  });

  it('BASE_BRANCH_MISSING for an unknown base_branch, and for a detached HEAD without one', async () => {
    expect(await code(preflight(req({ baseBranch: 'nope' })))).toBe('BASE_BRANCH_MISSING');
    sh(sb.repo, 'checkout', '-q', '--detach');
    expect(await code(preflight(req()))).toBe('BASE_BRANCH_MISSING');
  });

  it('BRANCH_CHECKED_OUT when the task branch is checked out elsewhere (even the person’s checkout)', async () => {
    sh(sb.repo, 'branch', 'develop');
    expect(await code(preflight(req({ branch: 'main', baseBranch: 'develop' })))).toBe('BRANCH_CHECKED_OUT');
    sh(sb.repo, 'worktree', 'add', '-q', '-b', 'vr/t2', join(sb.root, 'elsewhere'));
    expect(await code(preflight(req({ branch: 'vr/t2' })))).toBe('BRANCH_CHECKED_OUT');
    // …but the task's own worktree holding it is no conflict (a resume).
    const own = (await preflight(req())).worktreePath!;
    sh(sb.repo, 'worktree', 'add', '-q', '-b', 'vr/t1', own);
    await expect(preflight(req())).resolves.toMatchObject({ baseBranch: 'main', worktreePath: own });
  });

  it('BRANCH_INVALID for a name git refuses', async () => {
    expect(await code(preflight(req({ branch: 'bad..name' })))).toBe('BRANCH_INVALID');
    expect(await code(preflight(req({ branch: '-x' })))).toBe('BRANCH_INVALID');
  });

  it('BRANCH_INVALID for a branch that is the base itself (its commits would skip review), checked out or not', async () => {
    sh(sb.repo, 'branch', 'develop');
    expect(await code(preflight(req({ branch: 'develop', baseBranch: 'develop' })))).toBe('BRANCH_INVALID');
    expect(await code(preflight(req({ branch: 'main' })))).toBe('BRANCH_INVALID');
  });

  it('WORKTREES_DIR_UNWRITABLE when it cannot be created, and refuses one inside the vault or the repository', async () => {
    const file = join(sb.root, 'a-file');
    writeFileSync(file, '');
    expect(await code(preflight(req({ worktreesDir: join(file, 'worktrees') })))).toBe('WORKTREES_DIR_UNWRITABLE');
    expect(await code(preflight(req({ worktreesDir: join(sb.vault, 'wt') })))).toBe('WORKTREES_DIR_INSIDE');
    expect(await code(preflight(req({ worktreesDir: join(sb.repo, '.worktrees') })))).toBe('WORKTREES_DIR_INSIDE');
    if (process.getuid?.() !== 0) {
      mkdirSync(join(sb.root, 'ro'));
      chmodSync(join(sb.root, 'ro'), 0o555);
      expect(await code(preflight(req({ worktreesDir: join(sb.root, 'ro', 'wt') })))).toBe('WORKTREES_DIR_UNWRITABLE');
    }
  });

  it('in-place: TREE_DIRTY with the paths, unless allow_dirty', async () => {
    writeFileSync(join(sb.repo, 'scratch.txt'), 'x');
    const err = await preflight(req({ mode: 'in-place' })).catch((e: WorkspaceError) => e);
    expect(err).toBeInstanceOf(WorkspaceError);
    expect((err as WorkspaceError).code).toBe('TREE_DIRTY');
    expect((err as WorkspaceError).details.files).toEqual(['scratch.txt']);
    await expect(preflight(req({ mode: 'in-place', allowDirty: true }))).resolves.toMatchObject({ baseBranch: 'main' });
  });

  it('a base in the middle of a rebase: no new task branch forks from it (BASE_DIRTY naming the rebase); a retry keeps its branch', async () => {
    conflictingBranch(sb.repo, 'upstream');
    gitFails(sb.repo, 'rebase', 'upstream'); // stops on README.md, HEAD detached
    const refused = async (p: Promise<unknown>) => {
      const e = await p.then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(WorkspaceError);
      const w = e as WorkspaceError;
      expect([w.code, w.details.operation, w.transient]).toEqual(['BASE_DIRTY', 'rebase', false]);
      expect(w.message).toContain(`finish or abort the rebase in ${sb.repo}`);
    };
    await refused(preflight(req())); // the base would be the detached, half-rebased HEAD
    await refused(preflight(req({ baseBranch: 'main' }))); // main's old tip, about to be rewritten
    await refused(preflight(req({ mode: 'in-place', allowDirty: true })));
    // From a linked worktree of the same repository, the rebase of main in the main checkout counts too.
    const other = join(sb.root, 'other');
    sh(sb.repo, 'worktree', 'add', '-q', '-b', 'dev', other, 'upstream');
    await refused(preflight(req({ workingDir: other, baseBranch: 'main' })));
    await expect(preflight(req({ workingDir: other }))).resolves.toMatchObject({ baseBranch: 'dev' });
    // A task whose branch already exists (a retry, a follow-up) keeps the fork point it had.
    sh(sb.repo, 'branch', 'vr/t1', 'main');
    await expect(preflight(req({ baseBranch: 'main' }))).resolves.toMatchObject({ baseBranch: 'main' });
  });

  it('a base in the middle of a merge: a worktree still forks from the branch tip; in place is refused, even with allow_dirty', async () => {
    conflictingBranch(sb.repo, 'feature');
    gitFails(sb.repo, 'merge', 'feature');
    await expect(preflight(req())).resolves.toMatchObject({ baseBranch: 'main', baseCommit: sh(sb.repo, 'rev-parse', 'main') });
    const e = await preflight(req({ mode: 'in-place', allowDirty: true })).then(() => undefined, (err: unknown) => err as WorkspaceError);
    expect(e).toBeInstanceOf(WorkspaceError);
    expect([e!.code, e!.details.operation]).toEqual(['BASE_DIRTY', 'merge']);
    expect(e!.message).toContain(`finish or abort the merge in ${sb.repo}`);
  });

  it('ignores GIT_DIR and friends leaking from the parent environment', async () => {
    const other = join(sb.root, 'other');
    mkdirSync(other);
    sh(other, 'init', '-q', '-b', 'trunk');
    setGitBaseEnv({ ...process.env, GIT_DIR: join(other, '.git'), GIT_WORK_TREE: other });
    const r = await preflight(req());
    expect(r.repoRoot).toBe(sb.repo);
    expect(r.baseBranch).toBe('main');
  });
});
