// Worktrees on real repositories: two tasks side by side while the person's checkout stays
// byte-identical; idempotent create (retry, crash after add, crash during add); remove, discard,
// orphans and gc.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitAll } from '../../src/workspace/commit.js';
import { WorkspaceError } from '../../src/workspace/errors.js';
import { mergeTask } from '../../src/workspace/merge.js';
import { openWorkspace } from '../../src/workspace/open.js';
import { preflight } from '../../src/workspace/preflight.js';
import {
  createWorktree,
  defaultWorktreesDir,
  discardWorkspace,
  gcMerged,
  listOrphans,
  removeWorktree,
  slugify,
  taskBranch,
  worktreePathFor,
  type Workspace,
} from '../../src/workspace/worktree.js';
import { sandbox, sh, snapshot, type Sandbox } from './repo-fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

function open(taskId: string, opts: { branch?: string; workingDir?: string } = {}): Promise<Workspace> {
  return openWorkspace({ taskId, workingDir: opts.workingDir ?? sb.repo, mode: 'worktree', ...(opts.branch ? { branch: opts.branch } : {}), worktreesDir: sb.worktrees, vaultDir: sb.vault });
}

describe('names', () => {
  it('slugs are ref-safe, bounded, and keep different ids apart', () => {
    expect(slugify('fix-login')).toBe('fix-login');
    const accented = slugify('Résumé: new feature');
    expect(accented).toMatch(/^resume-new-feature-[0-9a-f]{6}$/);
    expect(slugify('Resume new feature')).not.toBe(accented);
    expect(slugify('日本語のタスク')).toMatch(/^task-[0-9a-f]{6}$/);
    expect(slugify('..x.lock')).toMatch(/^x-[0-9a-f]{6}$/);
    const long = slugify('a'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(48);
    expect(slugify('a'.repeat(200))).not.toBe(slugify('a'.repeat(201)));
    for (const s of [accented, long, slugify('-.-'), slugify('a b/c\\d:e?f*g[h~^')]) {
      expect(sh(sb.repo, 'check-ref-format', '--branch', `vr/${s}`)).toBe(`vr/${s}`);
    }
  });

  it('branch is the note’s, else vr/<slug>; default WORKTREES_DIR follows XDG', () => {
    expect(taskBranch('My Task')).toMatch(/^vr\/my-task-[0-9a-f]{6}$/);
    expect(taskBranch('t', ' feature/x ')).toBe('feature/x');
    expect(defaultWorktreesDir({ XDG_DATA_HOME: '/x/data', HOME: '/h' })).toBe('/x/data/vaultrunner/worktrees');
    expect(defaultWorktreesDir({ HOME: '/h' })).toBe('/h/.local/share/vaultrunner/worktrees');
    expect(defaultWorktreesDir({ XDG_DATA_HOME: 'relative', HOME: '/h' })).toBe('/h/.local/share/vaultrunner/worktrees');
  });
});

describe('createWorktree', () => {
  it('two tasks of one repository side by side; the person’s checkout stays byte-identical', async () => {
    writeFileSync(join(sb.repo, 'wip.txt'), 'my own uncommitted work\n'); // the person is mid-edit
    writeFileSync(join(sb.repo, 'README.md'), 'hello, edited\n');
    sh(sb.repo, 'add', 'README.md');
    const before = snapshot(sb.repo);

    const a = await open('task-a');
    const b = await open('task-b');
    expect(a.created && b.created).toBe(true);
    expect(a.root).not.toBe(b.root);
    expect(a.root.startsWith(sb.worktrees)).toBe(true);
    expect(sh(a.root, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('vr/task-a');
    expect(sh(b.root, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('vr/task-b');
    expect(a.baseCommit).toBe(sh(sb.repo, 'rev-parse', 'main'));
    // The worktrees start from the committed base, not from the person's uncommitted edits.
    expect(readFileSync(join(a.root, 'README.md'), 'utf8')).toBe('hello\n');
    expect(existsSync(join(a.root, 'wip.txt'))).toBe(false);

    writeFileSync(join(a.root, 'a.txt'), 'from a\n');
    writeFileSync(join(b.root, 'README.md'), 'from b\n');
    await commitAll({ cwd: a.root, baseCommit: a.baseCommit, title: 'A', taskId: 'task-a', ownWorktree: true });
    await commitAll({ cwd: b.root, baseCommit: b.baseCommit, title: 'B', taskId: 'task-b', ownWorktree: true });

    expect(snapshot(sb.repo)).toEqual(before);
    expect(sh(sb.repo, 'log', '--format=%s', 'vr/task-a', '-1')).toBe('A');
    expect(sh(sb.repo, 'log', '--format=%s', 'vr/task-b', '-1')).toBe('B');
  });

  it('the agent runs in the same subfolder as working_dir', async () => {
    const ws = await open('sub', { workingDir: join(sb.repo, 'src') });
    expect(ws.cwd).toBe(join(ws.root, 'src'));
    expect(existsSync(join(ws.cwd, 'app.js'))).toBe(true);
  });

  it('is idempotent: a retry or a crash after `worktree add` gets the same worktree, branch and fork point', async () => {
    const first = await open('again');
    writeFileSync(join(first.root, 'work.txt'), 'half done\n');
    await commitAll({ cwd: first.root, baseCommit: first.baseCommit, title: 'step 1', taskId: 'again', ownWorktree: true });
    sh(sb.repo, 'commit', '-q', '--allow-empty', '-m', 'base moves on');
    const second = await open('again');
    expect(second.created).toBe(false);
    expect(second.root).toBe(first.root);
    expect(second.branch).toBe(first.branch);
    expect(second.baseCommit).toBe(first.baseCommit); // the fork point, not the new base tip
    expect(readFileSync(join(second.root, 'work.txt'), 'utf8')).toBe('half done\n');
  });

  it('after removal (cancel), a follow-up gets a worktree on the kept branch again', async () => {
    const ws = await open('follow');
    writeFileSync(join(ws.root, 'kept.txt'), 'kept\n');
    const c = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 'keep me', taskId: 'follow', ownWorktree: true });
    expect(await removeWorktree(sb.repo, ws.root)).toBe(true);
    expect(existsSync(ws.root)).toBe(false);
    expect(sh(sb.repo, 'rev-parse', 'vr/follow')).toBe(c.headCommit);
    const again = await open('follow');
    expect(again.root).toBe(ws.root);
    expect(readFileSync(join(again.root, 'kept.txt'), 'utf8')).toBe('kept\n');
  });

  it('recovers from a crash during `worktree add` (registration left locked "initializing")', async () => {
    const ws = await open('crashy');
    // What a kill -9 in the middle of `git worktree add` leaves: the admin dir locked, a half checkout.
    const admin = sh(ws.root, 'rev-parse', '--absolute-git-dir');
    writeFileSync(join(admin, 'locked'), 'initializing');
    sh(ws.root, 'rm', '-q', '--cached', 'README.md');
    const again = await open('crashy');
    expect(again.root).toBe(ws.root);
    expect(sh(again.root, 'status', '--porcelain')).toBe('');
    expect(sh(sb.repo, 'worktree', 'list', '--porcelain')).not.toContain('initializing');
  });

  it('a worktree folder deleted behind git’s back is made again on the kept branch', async () => {
    const ws = await open('vanished');
    writeFileSync(join(ws.root, 'w.txt'), 'committed work\n');
    await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 'vanished', ownWorktree: true });
    rmSync(ws.root, { recursive: true });
    const other = join(sb.root, 'persons-other-worktree');
    sh(sb.repo, 'worktree', 'add', '-q', '-b', 'theirs', other);
    rmSync(other, { recursive: true }); // e.g. on a drive not mounted right now
    const again = await open('vanished');
    expect(again.created).toBe(false);
    expect(readFileSync(join(again.root, 'w.txt'), 'utf8')).toBe('committed work\n');
    expect(sh(sb.repo, 'worktree', 'list')).toContain(other); // their registration untouched
  });

  it('recovers a leftover empty folder, and refuses a folder holding someone’s files', async () => {
    const pre = await preflight({ workingDir: sb.repo, mode: 'worktree', branch: 'vr/x', taskId: 'x', worktreesDir: sb.worktrees, vaultDir: sb.vault });
    const path = pre.worktreePath!;
    expect(path).toBe(worktreePathFor(sb.worktrees, pre.commonDir, pre.repoRoot, 'x'));
    mkdirSync(path, { recursive: true });
    const ws = await createWorktree({ repoRoot: sb.repo, path, branch: 'vr/x', baseBranch: 'main', baseCommit: pre.baseCommit });
    expect(ws.created).toBe(true);

    const other = worktreePathFor(sb.worktrees, pre.commonDir, pre.repoRoot, 'y');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'precious.txt'), 'do not delete');
    const err = await createWorktree({ repoRoot: sb.repo, path: other, branch: 'vr/y', baseBranch: 'main', baseCommit: pre.baseCommit }).catch((e: unknown) => e);
    expect((err as WorkspaceError).code).toBe('WORKTREE_PATH_TAKEN');
    expect(readFileSync(join(other, 'precious.txt'), 'utf8')).toBe('do not delete');
  });
});

describe('remove, discard, orphans, gc', () => {
  it('remove refuses uncommitted work unless told to discard it; the branch stays', async () => {
    const ws = await open('dirty');
    writeFileSync(join(ws.root, 'unsaved.txt'), 'x');
    const err = await removeWorktree(sb.repo, ws.root).catch((e: unknown) => e);
    expect((err as WorkspaceError).code).toBe('TREE_DIRTY');
    expect(existsSync(join(ws.root, 'unsaved.txt'))).toBe(true);
    expect(await removeWorktree(sb.repo, ws.root, { discardChanges: true })).toBe(true);
    expect(sh(sb.repo, 'branch', '--list', 'vr/dirty')).toContain('vr/dirty');
    expect(await removeWorktree(sb.repo, ws.root)).toBe(false); // idempotent
  });

  it('discard removes worktree and branch', async () => {
    const ws = await open('gone');
    writeFileSync(join(ws.root, 'f.txt'), 'x');
    await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 'gone', ownWorktree: true });
    expect(await discardWorkspace(sb.repo, ws.root, ws.branch)).toEqual({ worktree: true, branch: true });
    expect(existsSync(ws.root)).toBe(false);
    expect(sh(sb.repo, 'branch', '--list', 'vr/gone')).toBe('');
    expect(await discardWorkspace(sb.repo, ws.root, ws.branch)).toEqual({ worktree: false, branch: false });
  });

  it('orphans: worktrees and vr/ branches no live task owns', async () => {
    const a = await open('owned');
    const b = await open('orphan');
    await removeWorktree(sb.repo, (await open('branch-only')).root);
    const o = await listOrphans(sb.worktrees, { paths: new Set([a.root]), branches: new Set([a.branch]) });
    expect(o.worktrees.map((w) => w.path)).toEqual([b.root]);
    expect(o.worktrees[0]).toMatchObject({ registered: true, branch: 'refs/heads/vr/orphan', commonDir: join(sb.repo, '.git') });
    expect(o.branches).toEqual([{ commonDir: join(sb.repo, '.git'), branch: 'vr/branch-only' }]);
  });

  it('gc removes merged (also squashed) task branches and their clean worktrees, keeps the rest', async () => {
    const merged = await open('merged');
    const squashed = await open('squashed');
    const open1 = await open('unmerged');
    const live = await open('live');
    for (const [ws, file] of [[merged, 'm.txt'], [squashed, 's.txt'], [open1, 'u.txt'], [live, 'l.txt']] as const) {
      writeFileSync(join(ws.root, file), file);
      await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: file, taskId: file, ownWorktree: true });
    }
    await mergeTask({ repoRoot: sb.repo, branch: merged.branch, baseBranch: 'main', mode: 'merge', taskId: 'merged', title: 'm' });
    await mergeTask({ repoRoot: sb.repo, branch: squashed.branch, baseBranch: 'main', mode: 'squash', taskId: 'squashed', title: 's' });
    await mergeTask({ repoRoot: sb.repo, branch: live.branch, baseBranch: 'main', mode: 'merge', taskId: 'live', title: 'l' });
    const removed = await gcMerged(sb.repo, 'main', { keep: new Set([live.branch]) });
    expect(removed.sort()).toEqual(['vr/merged', 'vr/squashed']);
    expect(existsSync(merged.root) || existsSync(squashed.root)).toBe(false);
    expect(existsSync(open1.root) && existsSync(live.root)).toBe(true);
    expect(sh(sb.repo, 'branch', '--list', 'vr/*').split('\n').map((s) => s.replace(/^[*+ ]+/, '')).sort()).toEqual(['vr/live', 'vr/unmerged']);
  });

  it('gc: a merged task whose worktree folder was deleted by hand goes too (not "git not found")', async () => {
    const ws = await open('gone');
    writeFileSync(join(ws.root, 'g.txt'), 'g');
    await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 'g', taskId: 'gone', ownWorktree: true });
    await mergeTask({ repoRoot: sb.repo, branch: ws.branch, baseBranch: 'main', mode: 'merge', taskId: 'gone', title: 'g' });
    rmSync(ws.root, { recursive: true, force: true });
    expect(await gcMerged(sb.repo, 'main')).toEqual(['vr/gone']);
    expect(sh(sb.repo, 'worktree', 'list', '--porcelain')).not.toContain(ws.root);
  });
});
