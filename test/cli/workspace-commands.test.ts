// `merge`, `discard` and `gc` against real repositories: the real CLI binary, a task branch and
// worktree made with plain git the way the service makes them, notes that record them.
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliVault, type CliVault } from '../helpers/cli-vault.js';
import { sh, snapshot, writeFiles } from '../workspace/repo-fixture.js';

let v: CliVault;
let repo: string;
let wts: string;
let env: Record<string, string>;
beforeEach(() => {
  v = createCliVault();
  const work = realpathSync(v.work);
  repo = join(work, 'repo');
  wts = join(realpathSync(v.root), 'worktrees');
  env = { WORKTREES_DIR: wts };
  writeFiles(repo, { 'README.md': 'hello\n' });
  sh(repo, 'init', '-q', '-b', 'main');
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'first');
});
afterEach(() => v.cleanup());

/** A task branch vr/<id> with one commit, in its worktree under WORKTREES_DIR, and its note. */
function taskWithBranch(id: string, status: string, folder = 'Needs_Action', change = true): { wt: string; head: string; path: string } {
  const wt = join(wts, 'repo-1234', id);
  sh(repo, 'worktree', 'add', '-q', '-b', `vr/${id}`, wt, 'main');
  if (change) {
    writeFiles(wt, { [`${id}.txt`]: `work of ${id}\n` });
    sh(wt, 'add', '-A');
    sh(wt, 'commit', '-q', '-m', `work of ${id}`);
  }
  const head = sh(wt, 'rev-parse', 'HEAD');
  const path = v.task(id, `type: claude_code\ntitle: Task ${id}\nstatus: ${status}\nworking_dir: ${repo}\nbranch: vr/${id}\nbase_branch: main\nhead_commit: "${head}"`, 'Do it.\n', folder);
  return { wt, head, path };
}

const run = (...args: string[]) => v.run(args, { env });

describe('vaultrunner merge', () => {
  it('refuses over a dirty checkout (exit 1, reason in the note, nothing touched), then merges once it is clean', () => {
    const t = taskWithBranch('fix', 'in_review');
    writeFiles(repo, { 'README.md': 'hello, mine\n' });
    const before = snapshot(repo);
    const r = run('merge', 'fix', '--mode', 'squash');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/merge of vr\/fix into main refused: BASE_DIRTY: main is checked out in .* \(README\.md\)/);
    expect(snapshot(repo)).toEqual(before);
    const note = v.read('Needs_Action/fix.md');
    expect(note).toMatch(/^status: in_review$/m);
    expect(note).toMatch(/^error: "?BASE_DIRTY: /m);
    expect(existsSync(t.wt)).toBe(true);

    sh(repo, 'commit', '-qam', 'mine');
    const ok = run('merge', 'fix', '--mode', 'squash');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^fix: vr\/fix merged into main \(squash\) at [0-9a-f]{10}; .* updated; worktree removed; filed in Done\/\n$/);
    const main = sh(repo, 'rev-parse', 'main');
    const done = v.read('Done/fix.md');
    expect(done).toMatch(/^status: done$/m);
    expect(done).toMatch(new RegExp(`^merge_commit: "?${main}"?$`, "m")); // quoted only when YAML would read it as a number
    expect(done).not.toMatch(/^error:/m);
    expect(sh(repo, 'show', '--format=', '--name-only', 'main')).toBe('fix.txt');
    expect(existsSync(t.wt)).toBe(false);
    expect(sh(repo, 'rev-parse', 'vr/fix')).toBe(t.head);
    // Again: already merged, nothing happens twice.
    const again = run('merge', 'fix');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('fix: vr/fix is already in main\n');
    expect(sh(repo, 'rev-parse', 'main')).toBe(main);
  }, 90_000);

  it('a conflict is refused naming the file; a running or unfinished task is not merged', () => {
    taskWithBranch('clash', 'in_review');
    writeFiles(repo, { 'clash.txt': 'main has its own\n' });
    sh(repo, 'add', '-A');
    sh(repo, 'commit', '-qm', 'main side');
    const r = run('merge', 'clash');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MERGE_CONFLICT: vr/clash conflicts with main in 1 file(s): clash.txt');
    expect(v.read('Needs_Action/clash.md')).toMatch(/^error: "?MERGE_CONFLICT/m);
    taskWithBranch('busy', 'executing');
    const b = run('merge', 'busy');
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('cannot merge busy: it is running now');
    taskWithBranch('early', 'planned');
    expect(run('merge', 'early').stderr).toContain('only a task in review or done is merged');
  }, 90_000);
});

describe('vaultrunner discard and gc', () => {
  it('discard deletes worktree (uncommitted changes included) and branch of a cancelled task; refuses a running one', () => {
    const t = taskWithBranch('drop', 'cancelled', 'Done');
    writeFiles(t.wt, { 'scratch.txt': 'uncommitted\n' });
    const r = run('discard', 'drop');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`drop: worktree ${t.wt} removed; branch vr/drop deleted\n`);
    expect(existsSync(t.wt)).toBe(false);
    expect(sh(repo, 'branch', '--list', 'vr/drop')).toBe('');
    taskWithBranch('live', 'executing');
    const l = run('discard', 'live');
    expect(l.code).toBe(1);
    expect(l.stderr).toContain('cannot discard live: it is running now');
    expect(sh(repo, 'branch', '--list', 'vr/live')).toContain('vr/live');
  }, 90_000);

  it('gc removes finished worktrees and merged branches, never unmerged work or a live task\'s branch', () => {
    const merged = taskWithBranch('merged', 'done', 'Done');
    sh(repo, 'merge', '-q', '--no-ff', '-m', 'merge it', 'vr/merged');
    const unmerged = taskWithBranch('unmerged', 'done', 'Done');
    const review = taskWithBranch('review', 'in_review', 'Needs_Action', false); // nothing new: "merged", but live
    const r = run('gc');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed worktree ${merged.wt} (merged, finished)`);
    expect(r.stdout).toContain(`removed worktree ${unmerged.wt} (unmerged, finished)`);
    expect(r.stdout).toContain('deleted branch vr/merged');
    expect(sh(repo, 'branch', '--list', 'vr/merged')).toBe('');
    expect(sh(repo, 'rev-parse', 'vr/unmerged')).toBe(unmerged.head);
    expect(sh(repo, 'rev-parse', 'vr/review')).toBe(review.head);
    expect(existsSync(review.wt)).toBe(true);
    expect(run('gc').stdout).toBe('nothing to clean: no finished worktree, no merged task branch\n');
  }, 90_000);
});

describe('vaultrunner doctor', () => {
  it('reports worktrees and vr/ branches that no task note references, and not the ones a note does', () => {
    const t = taskWithBranch('owned', 'in_review');
    const ghost = join(wts, 'repo-1234', 'ghost');
    sh(repo, 'worktree', 'add', '-q', '-b', 'vr/ghost', ghost, 'main');
    sh(repo, 'branch', 'vr/stray', 'main');
    const r = run('doctor');
    expect(r.stdout).toContain(`✓ workspaces: 2 orphaned worktree(s)/branch(es) under ${wts}`);
    expect(r.stdout).toContain(`worktree ${ghost} (vr/ghost): no task note references it`);
    expect(r.stdout).toMatch(/branch vr\/stray in .*: no task note references it/);
    expect(r.stdout).not.toContain(t.wt);
    expect(r.stdout).not.toContain('vr/owned');
  }, 90_000);
});
