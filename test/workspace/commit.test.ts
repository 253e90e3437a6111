// Committing the agent's work on real repositories: untracked files, stats, author, idempotence
// after a crash (a stale index.lock, a second call), and the diff: capped text plus the full patch.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderReviewNote } from '../../src/runs/review-note.js';
import { captureDiff, changeStats, commitAll, commitMessage } from '../../src/workspace/commit.js';
import { openWorkspace } from '../../src/workspace/open.js';
import { splitRawAndPatch, statsFromPatch } from '../../src/workspace/patch-stats.js';
import type { Workspace } from '../../src/workspace/worktree.js';
import { sandbox, sh, snapshot, type Sandbox } from './repo-fixture.js';

let sb: Sandbox;
let ws: Workspace;
beforeEach(async () => {
  sb = sandbox();
  ws = await openWorkspace({ taskId: 'fix-login', workingDir: sb.repo, mode: 'worktree', worktreesDir: sb.worktrees, vaultDir: sb.vault });
});
afterEach(() => sb.cleanup());

describe('commitAll', () => {
  it('commits modified, deleted and untracked files (not ignored ones) with message, trailer and author', async () => {
    writeFileSync(join(ws.root, '.gitignore'), 'node_modules/\n');
    mkdirSync(join(ws.root, 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(ws.root, 'node_modules', 'x', 'i.js'), 'ignored');
    writeFileSync(join(ws.root, 'README.md'), 'hello\nworld\n');
    sh(ws.root, 'rm', '-q', 'CHANGELOG.md');
    mkdirSync(join(ws.root, 'src', 'new'), { recursive: true });
    writeFileSync(join(ws.root, 'src', 'new', 'ünïcode file.ts'), 'export const a = 1;\nexport const b = 2;\n');
    writeFileSync(join(ws.root, 'logo.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));
    const r = await commitAll({ cwd: join(ws.root, 'src'), baseCommit: ws.baseCommit, title: 'Fix the login redirect', summary: 'Changed the redirect.\nAdded a test.', taskId: 'fix-login', author: { name: 'Bot', email: 'bot@example.com' }, ownWorktree: true });
    expect(r.committed).toBe(true);
    expect(r.headCommit).toBe(sh(ws.root, 'rev-parse', 'HEAD'));
    expect(sh(sb.repo, 'rev-parse', 'vr/fix-login')).toBe(r.headCommit);
    expect(sh(ws.root, 'status', '--porcelain')).toBe('');
    const files = Object.fromEntries(r.files.map((f) => [f.path, [f.insertions, f.deletions]]));
    expect(files).toEqual({
      '.gitignore': [1, 0],
      'CHANGELOG.md': [0, 1],
      'README.md': [1, 0],
      'logo.bin': [null, null],
      'src/new/ünïcode file.ts': [2, 0],
    });
    expect(r).toMatchObject({ filesChanged: 5, insertions: 4, deletions: 1 });
    expect(sh(ws.root, 'log', '-1', '--format=%an <%ae>|%cn|%s')).toBe('Bot <bot@example.com>|Bot|Fix the login redirect');
    expect(sh(ws.root, 'log', '-1', '--format=%b')).toBe('Changed the redirect.\nAdded a test.\n\nVaultrunner-Task: fix-login');
    expect(sh(ws.root, 'log', '-1', '--format=%P')).toBe(ws.baseCommit);
  });

  it('runs no repository hooks (a pre-commit hook that would fail is not run)', async () => {
    sh(sb.repo, 'config', 'core.hooksPath', '.hooks');
    mkdirSync(join(ws.root, '.hooks'));
    writeFileSync(join(ws.root, '.hooks', 'pre-commit'), `#!/bin/sh\ntouch "${join(sb.root, 'hook-ran')}"\nexit 1\n`, { mode: 0o755 });
    writeFileSync(join(ws.root, 'x.txt'), 'x');
    const r = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true });
    expect(r.committed).toBe(true);
    expect(() => readFileSync(join(sb.root, 'hook-ran'))).toThrow();
  });

  it('is idempotent: a second call (a re-run after kill -9 after the commit) commits nothing twice', async () => {
    writeFileSync(join(ws.root, 'a.txt'), 'a\n');
    const first = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true });
    const second = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true });
    expect(second.committed).toBe(false);
    expect(second.headCommit).toBe(first.headCommit);
    expect(second.files).toEqual(first.files);
    expect(sh(ws.root, 'rev-list', '--count', `${ws.baseCommit}..HEAD`)).toBe('1');
  });

  it('recovers after a kill between `add` and the ref update: stale index.lock in its own worktree, staged changes', async () => {
    writeFileSync(join(ws.root, 'a.txt'), 'a\n');
    sh(ws.root, 'add', '-A'); // the crash came after add …
    const admin = sh(ws.root, 'rev-parse', '--absolute-git-dir');
    writeFileSync(join(admin, 'index.lock'), ''); // … and left git's lock behind
    writeFileSync(join(ws.root, 'b.txt'), 'b\n');
    const r = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true });
    expect(r.committed).toBe(true);
    expect(r.files.map((f) => f.path)).toEqual(['a.txt', 'b.txt']);
    expect(sh(ws.root, 'rev-list', '--count', `${ws.baseCommit}..HEAD`)).toBe('1');
  });

  it("the patch keeps git's a/ b/ paths whatever the person's diff settings say", async () => {
    sh(ws.root, 'config', 'diff.noprefix', 'true');
    sh(ws.root, 'config', 'diff.mnemonicPrefix', 'true');
    writeFileSync(join(ws.root, 'a.txt'), 'a\n');
    const r = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true, capture: { maxChars: 10_000 } });
    expect(r.diff!.text).toMatch(/^diff --git a\/a\.txt b\/a\.txt\n/);
    expect(r.diff!.text).toContain('--- /dev/null\n+++ b/a.txt\n');
  });

  it('nothing changed: no commit, empty stats', async () => {
    const r = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true });
    expect(r).toMatchObject({ committed: false, headCommit: ws.baseCommit, filesChanged: 0, insertions: 0, deletions: 0, files: [] });
  });

  it('stats cover every commit since the fork point (fix rounds add commits)', async () => {
    writeFileSync(join(ws.root, 'a.txt'), 'a\n');
    await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 'round 0', taskId: 't', ownWorktree: true });
    writeFileSync(join(ws.root, 'a.txt'), 'a\nb\n');
    const r = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 'fix round 1', taskId: 't', ownWorktree: true });
    expect(r).toMatchObject({ committed: true, filesChanged: 1, insertions: 2, deletions: 0 });
    expect(await changeStats(ws.root, ws.baseCommit, r.headCommit)).toEqual({ headCommit: r.headCommit, filesChanged: 1, insertions: 2, deletions: 0, files: r.files });
  });

  it('leaves the person’s checkout alone', async () => {
    writeFileSync(join(sb.repo, 'mine.txt'), 'mine');
    const before = snapshot(sb.repo);
    writeFileSync(join(ws.root, 'a.txt'), 'a\n');
    await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true });
    expect(snapshot(sb.repo)).toEqual(before);
  });

  it('lands on the task branch when the agent left it: a new branch or a detached HEAD with its own commits', async () => {
    // The agent made a branch of its own and committed there, then left more work uncommitted.
    sh(ws.root, 'checkout', '-q', '-b', 'agent-side');
    writeFileSync(join(ws.root, 'a.txt'), 'a\n');
    sh(ws.root, 'add', 'a.txt');
    sh(ws.root, '-c', 'user.name=A', '-c', 'user.email=a@x', 'commit', '-q', '-m', 'agent commit');
    sh(ws.root, 'checkout', '-q', '--detach');
    writeFileSync(join(ws.root, 'b.txt'), 'b\n');
    const r = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 'fix-login', ownWorktree: true, branch: 'vr/fix-login' });
    expect(r).toMatchObject({ committed: true, filesChanged: 2 });
    expect(sh(sb.repo, 'rev-parse', 'vr/fix-login')).toBe(r.headCommit);
    expect(sh(ws.root, 'symbolic-ref', 'HEAD')).toBe('refs/heads/vr/fix-login');
    expect(sh(ws.root, 'log', '--format=%s', `${ws.baseCommit}..vr/fix-login`)).toBe('t\nagent commit');
    expect(sh(ws.root, 'status', '--porcelain')).toBe('');
  });

  it('refuses, touching nothing, when HEAD does not continue the task branch', async () => {
    const before = sh(sb.repo, 'rev-parse', 'vr/fix-login');
    sh(ws.root, 'checkout', '-q', '--orphan', 'elsewhere');
    writeFileSync(join(ws.root, 'c.txt'), 'c\n');
    sh(ws.root, 'add', '-A');
    sh(ws.root, '-c', 'user.name=A', '-c', 'user.email=a@x', 'commit', '-q', '-m', 'unrelated');
    writeFileSync(join(ws.root, 'd.txt'), 'd\n');
    const err = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 'fix-login', ownWorktree: true, branch: 'vr/fix-login' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BRANCH_INVALID', retryable: false });
    expect(String((err as Error).message)).toMatch(/left the task branch vr\/fix-login \(HEAD is on elsewhere/);
    expect(sh(sb.repo, 'rev-parse', 'vr/fix-login')).toBe(before);
    expect(sh(ws.root, 'symbolic-ref', 'HEAD')).toBe('refs/heads/elsewhere');
    expect(readFileSync(join(ws.root, 'd.txt'), 'utf8')).toBe('d\n');
  });

  it('message: subject bounded to one line, control characters dropped', () => {
    const m = commitMessage(`${'long '.repeat(30)}\ntitle`, 'sum\x1b[31mmary\r\nline 2', 'id x');
    const [subject, , body] = m.split('\n');
    expect(subject!.length).toBeLessThanOrEqual(72);
    expect(body).toBe('sum[31mmary');
    expect(m.endsWith('\nVaultrunner-Task: id x\n')).toBe(true);
  });
});

describe('captureDiff', () => {
  it('caps the text at a line end and writes the full patch, which applies to the base', async () => {
    const big = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    writeFileSync(join(ws.root, 'big.txt'), `${big}\n`);
    writeFileSync(join(ws.root, 'README.md'), 'changed\n');
    writeFileSync(join(ws.root, 'blob.bin'), Buffer.from([0, 159, 146, 150, 0]));
    const c = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true });
    const patchPath = join(sb.vault, 'fix-login.patch');
    const d = await captureDiff(ws.root, ws.baseCommit, c.headCommit, { maxChars: 1000, patchPath });
    expect(d.truncated).toBe(true);
    expect(d.text.length).toBeLessThanOrEqual(1000);
    expect(d.text.endsWith('\n')).toBe(true);
    expect(d.text.startsWith('diff --git a/README.md b/README.md')).toBe(true);
    const full = readFileSync(patchPath, 'utf8');
    expect(d.bytes).toBe(Buffer.byteLength(full));
    expect(full).toContain('GIT binary patch');
    // The .patch is complete: applied to the base it reproduces the task's tree.
    const check = join(sb.root, 'check');
    sh(sb.repo, 'worktree', 'add', '-q', '--detach', check, ws.baseCommit);
    execFileSync('git', ['apply', '--index', patchPath], { cwd: check });
    expect(sh(check, 'write-tree')).toBe(sh(ws.root, 'rev-parse', 'HEAD^{tree}'));

    const small = await captureDiff(ws.root, ws.baseCommit, c.headCommit, { maxChars: 1_000_000 });
    expect(small.truncated).toBe(false);
    expect(small.text).toBe(full);
  });

  it('commitAll with capture: stats and patch from one call, bytes kept exactly (a Latin-1 file applies)', async () => {
    writeFileSync(join(ws.root, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
    writeFileSync(join(ws.root, 'README.md'), 'changed\n');
    const patchPath = join(sb.vault, 'cap.patch');
    const c = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true, capture: { maxChars: 60, patchPath } });
    expect(c.committed).toBe(true);
    const { headCommit, filesChanged, insertions, deletions, files } = c;
    expect({ headCommit, filesChanged, insertions, deletions, files }).toEqual(await changeStats(ws.root, ws.baseCommit, c.headCommit));
    expect(c.diff!.truncated).toBe(true);
    expect(c.diff!.text.length).toBeLessThanOrEqual(60);
    expect(c.diff!.bytes).toBe(readFileSync(patchPath).length);
    expect(readFileSync(patchPath).includes(Buffer.from([0x2b, 0x63, 0x61, 0x66, 0xe9]))).toBe(true); // "+caf\xe9" raw
    const check = join(sb.root, 'check2');
    sh(sb.repo, 'worktree', 'add', '-q', '--detach', check, ws.baseCommit);
    execFileSync('git', ['apply', '--index', patchPath], { cwd: check });
    expect(sh(check, 'write-tree')).toBe(sh(ws.root, 'rev-parse', 'HEAD^{tree}'));
    // Nothing new: no commit, the same stats, an empty-change capture still answers.
    const again = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true, capture: { maxChars: 60 } });
    expect(again.committed).toBe(false);
    expect(again.files).toEqual(c.files);
  });

  it('stats taken from the patch equal git --numstat for every kind of change', async () => {
    const root = ws.root;
    writeFileSync(join(root, 'README.md'), 'hello\nworld'); // a line changed, no newline at the end
    sh(root, 'rm', '-q', 'CHANGELOG.md');
    writeFileSync(join(root, 'empty.txt'), '');
    writeFileSync(join(root, 'blob.bin'), Buffer.from([0, 1, 2, 0, 255]));
    writeFileSync(join(root, 'tab\tand "quote".txt'), 'a\n');
    writeFileSync(join(root, 'ünï.md'), 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n'); // patch-like content
    sh(root, 'update-index', '--chmod=+x', 'src/app.js');
    rmSync(join(root, 'src', 'app.js'));
    symlinkSync('README.md', join(root, 'src', 'app.js')); // file → symlink: two patch sections
    sh(root, 'add', '-A');
    sh(root, 'commit', '-qm', 'all kinds');
    writeFileSync(join(root, 'blob.bin'), Buffer.from([0, 9, 9, 0]));
    writeFileSync(join(root, 'many.txt'), Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const c = await commitAll({ cwd: root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true, capture: { maxChars: 100 } });
    const numstat = await changeStats(root, ws.baseCommit, c.headCommit);
    expect(c.files).toEqual(numstat.files);
    // …from the patch, not from the fallback: the one diff-tree output parses and lines up.
    const out = execFileSync('git', ['diff-tree', '-r', '-z', '--raw', '-p', '--full-index', '--binary', '--no-renames', ws.baseCommit, c.headCommit], { cwd: root });
    const split = splitRawAndPatch(out)!;
    expect(statsFromPatch(split.records, split.patch)).toEqual(numstat.files);
    expect([c.filesChanged, c.insertions, c.deletions]).toEqual([numstat.filesChanged, numstat.insertions, numstat.deletions]);
    expect(c.files.map((f) => f.path)).toContain('tab\tand "quote".txt');
    expect(c.files.find((f) => f.path === 'blob.bin')).toEqual({ path: 'blob.bin', insertions: null, deletions: null });
  });

  it('a diff larger than 64 MiB (a 70 MB generated file) commits; the patch is whole on disk, the review text capped with a marker', async () => {
    const line = `export const generated = "${'x'.repeat(44)}";\n`; // 70 bytes
    writeFileSync(join(ws.root, 'generated.js'), line.repeat(1_000_000));
    // Without capture first (a cancelled run's work-in-progress commit): names and counts only.
    const wip = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 'wip', taskId: 't', ownWorktree: true });
    expect(wip).toMatchObject({ committed: true, files: [{ path: 'generated.js', insertions: 1_000_000, deletions: 0 }] });
    expect(await changeStats(ws.root, ws.baseCommit, wip.headCommit)).toMatchObject({ filesChanged: 1, insertions: 1_000_000 });
    // Then a run with capture: its diff from the fork point holds the 70 MB file too.
    writeFileSync(join(ws.root, 'README.md'), 'changed\n');
    const patchPath = join(sb.vault, 'huge.patch');
    const c = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 't', taskId: 't', ownWorktree: true, capture: { maxChars: 60_000, patchPath } });
    expect(c.committed).toBe(true);
    expect(sh(sb.repo, 'rev-parse', 'vr/fix-login')).toBe(c.headCommit);
    expect(c.files).toEqual([
      { path: 'README.md', insertions: 1, deletions: 1 },
      { path: 'generated.js', insertions: 1_000_000, deletions: 0 },
    ]);
    expect([c.filesChanged, c.insertions, c.deletions]).toEqual([2, 1_000_001, 1]);
    const size = statSync(patchPath).size;
    expect(size).toBeGreaterThan(64 * 1024 * 1024);
    expect(c.diff).toMatchObject({ truncated: true, bytes: size, patchPath });
    expect(c.diff!.text.length).toBeLessThanOrEqual(60_000);
    expect(c.diff!.text.startsWith('diff --git a/README.md b/README.md\n')).toBe(true);
    expect(c.diff!.text.endsWith('\n')).toBe(true);
    // The patch file is the plain patch (no raw records before it), whole to its last line.
    const fd = openSync(patchPath, 'r');
    const tail = Buffer.alloc(line.length + 1);
    readSync(fd, tail, 0, tail.length, size - tail.length);
    closeSync(fd);
    expect(readFileSync(patchPath).subarray(0, 11).toString()).toBe('diff --git ');
    expect(tail.toString()).toBe(`+${line}`);
    expect(readdirSync(sb.vault)).toEqual(['huge.patch']); // the streamed diff's temp file is gone
    // The review note shows the capped text and says it is cut, with the size of the whole.
    const note = renderReviewNote({ taskId: 't', taskLink: 'Needs_Action/t', generatedAt: 'now', branch: ws.branch, baseBranch: 'main', baseCommit: ws.baseCommit, headCommit: c.headCommit, criteria: [], gates: [], files: c.files, insertions: c.insertions, deletions: c.deletions, diff: c.diff!, patchLink: 'Reviews/t.patch' });
    expect(note.length).toBeLessThan(70_000);
    expect(note).toMatch(/The diff is cut here \(.* of .*\)\. The full patch:/);
    // captureDiff (the remote-worker path) stays bounded too, with or without a patch file.
    const d = await captureDiff(ws.root, ws.baseCommit, c.headCommit, { maxChars: 1000 });
    expect(d).toMatchObject({ truncated: true, bytes: size });
    expect(d.text.length).toBeLessThanOrEqual(1000);
  });

  it('patch stats refuse output whose sections do not line up with its records (git is asked instead)', () => {
    const out = Buffer.from(':100644 100644 a b M\0x.txt\0\0diff --git a/x.txt b/x.txt\n@@ -1 +1 @@\n-a\n+b\ndiff --git a/y b/y\n');
    const split = splitRawAndPatch(out)!;
    expect(split.records).toEqual([{ path: 'x.txt', oldMode: 0o100644, newMode: 0o100644 }]);
    expect(statsFromPatch(split.records, split.patch)).toBeUndefined();
    expect(statsFromPatch(split.records, split.patch.subarray(0, split.patch.indexOf('diff --git a/y')))).toEqual([{ path: 'x.txt', insertions: 1, deletions: 1 }]);
    expect(splitRawAndPatch(Buffer.from(':100644 100644 a b M\0x.txt'))).toBeUndefined();
  });
});
