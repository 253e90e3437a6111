// Merging per MERGE on real repositories: ff, merge, squash into a base that is checked out clean
// (files follow) or not checked out at all; a dirty checkout refused; a conflict reported with its
// files and nothing changed; a second call after a crash merges nothing twice.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitAll } from '../../src/workspace/commit.js';
import { WorkspaceError } from '../../src/workspace/errors.js';
import { dirtyPaths } from '../../src/workspace/git.js';
import { mergeAndClean, type Sink } from '../../src/engine/finish-task.js';
import type { Task } from '../../src/domain/task.js';
import { mergeTask, type MergeMode, type MergeRequest } from '../../src/workspace/merge.js';
import { openWorkspace } from '../../src/workspace/open.js';
import type { Workspace } from '../../src/workspace/worktree.js';
import { conflictingBranch, gitFails, sandbox, sh, snapshot, writeFiles, type Sandbox } from './repo-fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

async function task(id: string, files: Record<string, string>): Promise<Workspace> {
  const ws = await openWorkspace({ taskId: id, workingDir: sb.repo, mode: 'worktree', worktreesDir: sb.worktrees, vaultDir: sb.vault });
  for (const [p, t] of Object.entries(files)) writeFileSync(join(ws.root, p), t);
  await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: `work of ${id}`, taskId: id, ownWorktree: true });
  return ws;
}

const req = (ws: Workspace, mode: MergeMode): MergeRequest => ({ repoRoot: sb.repo, branch: ws.branch, baseBranch: 'main', mode, taskId: 'tid', title: 'The title' });

async function failure(p: Promise<unknown>): Promise<WorkspaceError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(WorkspaceError);
  return e as WorkspaceError;
}

describe('mergeTask', () => {
  it('none: nothing happens', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    const before = snapshot(sb.repo);
    expect(await mergeTask(req(ws, 'none'))).toEqual({ status: 'skipped', mode: 'none' });
    expect(snapshot(sb.repo)).toEqual(before);
  });

  it('ff into the clean checkout: ref, index and files move together', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    const tip = sh(sb.repo, 'rev-parse', ws.branch);
    const r = await mergeTask(req(ws, 'ff'));
    expect(r).toMatchObject({ status: 'merged', mode: 'ff', commit: tip, checkout: sb.repo });
    expect(sh(sb.repo, 'rev-parse', 'main')).toBe(tip);
    expect(sh(sb.repo, 'status', '--porcelain')).toBe('');
    expect(sh(sb.repo, 'show', 'HEAD:a.txt')).toBe('a');
    expect(await mergeTask(req(ws, 'ff'))).toMatchObject({ status: 'already-merged', baseCommit: tip });
  });

  it('ff refused when the base moved on; nothing changed', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    writeFileSync(join(sb.repo, 'other.txt'), 'o');
    sh(sb.repo, 'add', '-A');
    sh(sb.repo, 'commit', '-q', '-m', 'person commits');
    const before = snapshot(sb.repo);
    expect((await failure(mergeTask(req(ws, 'ff')))).code).toBe('NOT_FAST_FORWARD');
    expect(snapshot(sb.repo)).toEqual(before);
  });

  it('merge: a merge commit with both parents, after the base moved on; idempotent on a second call', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    writeFileSync(join(sb.repo, 'other.txt'), 'o');
    sh(sb.repo, 'add', '-A');
    sh(sb.repo, 'commit', '-q', '-m', 'person commits');
    const base = sh(sb.repo, 'rev-parse', 'main');
    const tip = sh(sb.repo, 'rev-parse', ws.branch);
    const r = await mergeTask(req(ws, 'merge'));
    expect(r).toMatchObject({ status: 'merged', mode: 'merge', previous: base });
    expect(sh(sb.repo, 'log', '-1', '--format=%P', 'main')).toBe(`${base} ${tip}`);
    expect(sh(sb.repo, 'log', '-1', '--format=%s', 'main')).toBe("Merge branch 'vr/t': The title");
    expect(sh(sb.repo, 'status', '--porcelain')).toBe('');
    expect(sh(sb.repo, 'ls-files').split('\n')).toEqual(expect.arrayContaining(['a.txt', 'other.txt']));
    // A re-run after a crash right after the ref moved: no second merge commit.
    expect(await mergeTask(req(ws, 'merge'))).toMatchObject({ status: 'already-merged' });
    expect(sh(sb.repo, 'rev-list', '--count', 'main')).toBe('5'); // first, second, person's, task's, merge
  });

  it('squash: one commit with one parent; idempotent on a second call', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    writeFileSync(join(ws.root, 'b.txt'), 'b\n');
    await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 'fix round', taskId: 't', ownWorktree: true });
    const base = sh(sb.repo, 'rev-parse', 'main');
    const r = await mergeTask(req(ws, 'squash'));
    expect(r.status).toBe('merged');
    expect(sh(sb.repo, 'log', '-1', '--format=%P', 'main')).toBe(base);
    expect(sh(sb.repo, 'diff', '--name-only', base, 'main').split('\n')).toEqual(['a.txt', 'b.txt']);
    expect(sh(sb.repo, 'log', '-1', '--format=%B', 'main')).toContain('Vaultrunner-Task: tid');
    expect(await mergeTask(req(ws, 'squash'))).toMatchObject({ status: 'already-merged' });
    expect(sh(sb.repo, 'rev-list', '--count', 'main')).toBe('3');
  });

  it('a base checkout whose folder was deleted by hand is no checkout: the ref moves (not "git not found")', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    const other = join(sb.root, 'dev-checkout');
    sh(sb.repo, 'branch', 'dev');
    sh(sb.repo, 'worktree', 'add', '-q', other, 'dev');
    rmSync(other, { recursive: true, force: true });
    const r = await mergeTask({ ...req(ws, 'merge'), baseBranch: 'dev' });
    expect(r).toMatchObject({ status: 'merged' });
    expect(sh(sb.repo, 'show', 'dev:a.txt')).toBe('a');
  });

  it('accepting a task whose worktree folder was deleted by hand merges its branch and forgets the worktree', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    rmSync(ws.root, { recursive: true, force: true });
    const warnings: unknown[] = [];
    const sink = { config: { workspace: {} }, logger: { warn: (...a: unknown[]) => warnings.push(a) } } as unknown as Sink;
    const step = await mergeAndClean(sink, { task: { id: 't', title: 'T' } as Task, repoRoot: sb.repo, branch: ws.branch, baseBranch: 'main', worktree: ws.root }, 'merge');
    expect(step).toMatchObject({ ok: true, result: { status: 'merged' }, worktreeRemoved: true });
    expect(sh(sb.repo, 'show', 'main:a.txt')).toBe('a');
    expect(sh(sb.repo, 'worktree', 'list', '--porcelain')).not.toContain(ws.root);
    expect(warnings).toEqual([]);
  });

  it('git run in a folder that does not exist says so (NOT_A_REPO), not that git is missing', async () => {
    const e = await failure(dirtyPaths(join(sb.root, 'no-such-folder')));
    expect(e.code).toBe('NOT_A_REPO');
    expect(e.message).toContain('no-such-folder does not exist');
  });

  it('base not checked out anywhere: only the ref moves (compare-and-swap)', async () => {
    sh(sb.repo, 'checkout', '-q', '-b', 'person-branch');
    const ws = await task('t', { 'a.txt': 'a\n' });
    writeFileSync(join(sb.repo, 'dirty-but-elsewhere.txt'), 'x');
    const before = snapshot(sb.repo);
    const r = await mergeTask(req(ws, 'merge'));
    expect(r).toMatchObject({ status: 'merged' });
    expect((r as { checkout?: string }).checkout).toBeUndefined();
    expect(sh(sb.repo, 'show', 'main:a.txt')).toBe('a');
    expect(snapshot(sb.repo)).toEqual(before);
  });

  it('refuses to merge into a dirty checkout (untracked counts), naming the files; nothing changed', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    writeFileSync(join(sb.repo, 'README.md'), 'my edit\n');
    writeFileSync(join(sb.repo, 'notes.txt'), 'untracked');
    const before = snapshot(sb.repo);
    const tip = sh(sb.repo, 'rev-parse', ws.branch);
    for (const mode of ['ff', 'merge', 'squash'] as const) {
      const e = await failure(mergeTask(req(ws, mode)));
      expect(e.code).toBe('BASE_DIRTY');
      expect(e.transient).toBe(false);
      expect(e.message).toContain(sb.repo);
      expect([...(e.details.files ?? [])].sort()).toEqual(['README.md', 'notes.txt']);
    }
    expect(snapshot(sb.repo)).toEqual(before);
    expect(sh(sb.repo, 'rev-parse', ws.branch)).toBe(tip);
  });

  it('refuses to overwrite a file the person keeps ignored in the checkout, naming it; nothing changed', async () => {
    writeFileSync(join(sb.repo, '.gitignore'), 'config.local.json\n');
    sh(sb.repo, 'add', '.gitignore');
    sh(sb.repo, 'commit', '-q', '-m', 'ignore the local config');
    writeFileSync(join(sb.repo, 'config.local.json'), '{"secret":"person"}\n');
    // The task stops ignoring the file and commits its own version of it.
    const ws = await task('t', { '.gitignore': '', 'config.local.json': '{"agent":true}\n' });
    const before = snapshot(sb.repo);
    const main = sh(sb.repo, 'rev-parse', 'main');
    for (const mode of ['ff', 'merge', 'squash'] as const) {
      const e = await failure(mergeTask(req(ws, mode)));
      expect(e.code).toBe('BASE_DIRTY');
      expect(e.transient).toBe(false);
      expect(e.message).toMatch(/overwrite ignored file\(s\) of yours \(config\.local\.json\)/);
      expect(e.details.files).toEqual(['config.local.json']);
    }
    expect(readFileSync(join(sb.repo, 'config.local.json'), 'utf8')).toBe('{"secret":"person"}\n');
    expect(snapshot(sb.repo)).toEqual(before);
    expect(sh(sb.repo, 'rev-parse', 'main')).toBe(main);
  });

  it('conflict: the files are reported, and branch, base and checkout are untouched', async () => {
    const ws = await task('t', { 'README.md': 'task version\n', 'ok.txt': 'fine\n' });
    writeFileSync(join(sb.repo, 'README.md'), 'person version\n');
    sh(sb.repo, 'commit', '-q', '-am', 'person edits README');
    const before = snapshot(sb.repo);
    const tip = sh(sb.repo, 'rev-parse', ws.branch);
    for (const mode of ['merge', 'squash'] as const) {
      const e = await failure(mergeTask(req(ws, mode)));
      expect(e.code).toBe('MERGE_CONFLICT');
      expect(e.details.files).toEqual(['README.md']);
    }
    expect(snapshot(sb.repo)).toEqual(before);
    expect(sh(sb.repo, 'rev-parse', ws.branch)).toBe(tip);
    expect(sh(ws.root, 'status', '--porcelain')).toBe('');
  });

  it('the base moving between our read and the update is BASE_MOVED (transient), never a lost commit', async () => {
    sh(sb.repo, 'checkout', '-q', '-b', 'elsewhere');
    const ws = await task('t', { 'a.txt': 'a\n' });
    let moved = '';
    const e = await failure(
      mergeTask({
        ...req(ws, 'merge'),
        beforeUpdate: () => {
          // Someone commits on main (not checked out) between our merge-tree and the ref update.
          sh(sb.repo, 'commit', '-q', '--allow-empty', '-m', 'racing commit');
          moved = sh(sb.repo, 'rev-parse', 'HEAD');
          sh(sb.repo, 'update-ref', 'refs/heads/main', moved);
        },
      }),
    );
    expect(e.code).toBe('BASE_MOVED');
    expect(e.transient).toBe(true);
    expect(sh(sb.repo, 'rev-parse', 'main')).toBe(moved); // their commit kept
    // Tried again, it merges on top of the new base.
    const r = await mergeTask(req(ws, 'merge'));
    expect(r).toMatchObject({ status: 'merged', previous: moved });
  });

  it('a checkout that moves during the merge is BASE_MOVED too, its files untouched', async () => {
    const ws = await task('t', { 'a.txt': 'a\n' });
    const e = await failure(
      mergeTask({
        ...req(ws, 'merge'),
        beforeUpdate: () => {
          writeFileSync(join(sb.repo, 'p.txt'), 'person\n');
          sh(sb.repo, 'add', 'p.txt');
          sh(sb.repo, 'commit', '-q', '-m', 'person commits meanwhile');
        },
      }),
    );
    expect(e.code).toBe('BASE_MOVED');
    expect(sh(sb.repo, 'log', '-1', '--format=%s', 'main')).toBe('person commits meanwhile');
    expect(sh(sb.repo, 'status', '--porcelain')).toBe('');
  });
});

describe('an unfinished git operation in the base checkout', () => {
  const refusedNaming = async (ws: Workspace, mode: MergeMode, operation: string, checkout: string, fix: string) => {
    const e = await failure(mergeTask(req(ws, mode)));
    expect(e.code).toBe('BASE_DIRTY');
    expect(e.transient).toBe(false);
    expect(e.details.operation).toBe(operation);
    expect(e.message).toContain(`${fix} in ${checkout}`);
  };

  it('mid-rebase (a real conflicting `git rebase`, HEAD detached): refused for every mode, naming the rebase; nothing moved', async () => {
    conflictingBranch(sb.repo, 'upstream');
    const ws = await task('t', { 'a.txt': 'a\n' });
    gitFails(sb.repo, 'rebase', 'upstream');
    const before = snapshot(sb.repo);
    const main = sh(sb.repo, 'rev-parse', 'main');
    for (const mode of ['ff', 'merge', 'squash'] as const) await refusedNaming(ws, mode, 'rebase', sb.repo, 'finish or abort the rebase');
    expect(snapshot(sb.repo)).toEqual(before);
    expect(sh(sb.repo, 'rev-parse', 'main')).toBe(main);
    expect(sh(sb.repo, 'rev-parse', ws.branch)).toBe(sh(ws.root, 'rev-parse', 'HEAD'));
    // Once the person aborts it, the merge goes through into their checkout.
    sh(sb.repo, 'rebase', '--abort');
    expect(await mergeTask(req(ws, 'merge'))).toMatchObject({ status: 'merged', checkout: sb.repo });
  });

  it('mid-merge (a real conflicting `git merge`): refused naming the merge, also once resolved but not committed', async () => {
    conflictingBranch(sb.repo, 'feature');
    const ws = await task('t', { 'a.txt': 'a\n' });
    gitFails(sb.repo, 'merge', 'feature');
    const main = sh(sb.repo, 'rev-parse', 'main');
    let before = snapshot(sb.repo);
    for (const mode of ['ff', 'merge', 'squash'] as const) await refusedNaming(ws, mode, 'merge', sb.repo, 'finish or abort the merge');
    expect(snapshot(sb.repo)).toEqual(before);
    // Resolved to their own side and staged: `git status` shows nothing, but MERGE_HEAD is there.
    sh(sb.repo, 'checkout', '--ours', 'README.md');
    sh(sb.repo, 'add', 'README.md');
    expect(sh(sb.repo, 'status', '--porcelain')).toBe('');
    before = snapshot(sb.repo);
    for (const mode of ['ff', 'merge', 'squash'] as const) await refusedNaming(ws, mode, 'merge', sb.repo, 'finish or abort the merge');
    expect(snapshot(sb.repo)).toEqual(before);
    expect(sh(sb.repo, 'rev-parse', 'main')).toBe(main);
    expect(sh(sb.repo, 'rev-parse', '-q', '--verify', 'MERGE_HEAD')).toBe(sh(sb.repo, 'rev-parse', 'feature'));
  });

  it('cherry-pick, revert, git am and bisect in a linked worktree (its own git dir) are refused too', async () => {
    sh(sb.repo, 'checkout', '-q', '-b', 'elsewhere');
    const ws = await task('t', { 'a.txt': 'a\n' });
    const wt = join(sb.root, 'main-checkout');
    sh(sb.repo, 'worktree', 'add', '-q', wt, 'main');
    sh(sb.repo, 'branch', 'pick', 'main');
    sh(sb.repo, 'worktree', 'add', '-q', join(sb.root, 'pick'), 'pick');
    writeFiles(join(sb.root, 'pick'), { 'README.md': 'picked\n' });
    sh(join(sb.root, 'pick'), 'commit', '-q', '-am', 'pick edits README');
    writeFiles(wt, { 'README.md': 'mine\n' });
    sh(wt, 'commit', '-q', '-am', 'mine');
    writeFiles(wt, { 'README.md': 'mine again\n' });
    sh(wt, 'commit', '-q', '-am', 'mine again');
    const patch = join(sb.root, 'pick.patch');
    writeFileSync(patch, sh(sb.repo, 'format-patch', '-1', '--stdout', 'pick') + '\n');
    const ops: [string, string[], string[], string][] = [
      ['cherry-pick', ['cherry-pick', 'pick'], ['cherry-pick', '--abort'], 'finish or abort the cherry-pick'],
      ['revert', ['revert', '--no-edit', 'main~1'], ['revert', '--abort'], 'finish or abort the revert'],
      ['am', ['am', patch], ['am', '--abort'], 'finish or abort the git am'],
      ['bisect', ['bisect', 'start'], ['bisect', 'reset'], 'finish the bisect'],
    ];
    for (const [operation, start, abort, fix] of ops) {
      if (operation === 'bisect') sh(wt, ...start);
      else gitFails(wt, ...start);
      const main = sh(sb.repo, 'rev-parse', 'main');
      const state = () => [sh(wt, 'rev-parse', 'HEAD'), sh(wt, 'status', '--porcelain'), readFileSync(join(wt, 'README.md'), 'utf8')];
      const before = state();
      await refusedNaming(ws, 'merge', operation, wt, fix);
      expect(sh(sb.repo, 'rev-parse', 'main')).toBe(main);
      expect(state()).toEqual(before);
      sh(wt, ...abort);
    }
    expect(await mergeTask(req(ws, 'merge'))).toMatchObject({ status: 'merged', checkout: wt });
  });
});
