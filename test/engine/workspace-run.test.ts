// Runs of tasks in git repositories, end to end: a real service, real temp repositories, a command
// agent that writes files in its worktree, real gates. The person's checkout is never touched.
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { concurrency, createHarness, fixtureAgent, waitFor, type Harness } from '../helpers/vault-harness.js';
import { sh, snapshot, writeFiles, gitRepoWithCommit, noteField } from '../workspace/repo-fixture.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

const AGENTS = JSON.stringify({ git: fixtureAgent('git-worker'), ok: fixtureAgent('ok') });

/** A repository on `main` with one commit, inside the harness's WORKSPACE_ROOTS. */
function repoIn(h: Harness, name = 'repo'): string {
  return gitRepoWithCommit(join(realpathSync(h.root), name), { 'README.md': 'hello\n', 'src/app.js': 'console.log(1);\n' });
}

const field = noteField;

describe('a task whose working_dir is in a git repository', () => {
  it('runs in its own worktree on vr/<task>, two tasks of one repo in parallel, the person\'s checkout byte-identical', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, MAX_CONCURRENT: '2' }, { agentEnv: { FIXTURE_SLEEP_MS: '2500' } });
    const repo = repoIn(h);
    // The person has work in progress: an edit and an untracked file.
    writeFiles(repo, { 'README.md': 'hello, edited by the person\n', 'notes.txt': 'mine\n' });
    const before = snapshot(repo);
    await h.start();
    h.drop('task-a', `type: claude_code\ntitle: Task A\nworking_dir: ${repo}`, 'Do A.\n\n## Acceptance criteria\n\n- [ ] the work file exists\n');
    h.drop('task-b', `type: claude_code\ntitle: Task B\nworking_dir: ${repo}/src`);
    const a = await waitFor(() => h.find('task-a')?.folder === 'Done' && h.find('task-a')!.text, 'task-a done');
    const b = await waitFor(() => h.find('task-b')?.folder === 'Done' && h.find('task-b')!.text, 'task-b done');

    // In parallel (one-per-directory does not apply to worktrees).
    const runs = h.runs();
    expect(runs.map((r) => r.task).sort()).toEqual(['task-a', 'task-b']);
    expect(concurrency(runs).peak).toBe(2);
    expect(snapshot(repo)).toEqual(before);

    // Each on its own branch from main, committed, with its numbers in the note.
    const mainHead = sh(repo, 'rev-parse', 'main');
    for (const [id, text] of [['task-a', a], ['task-b', b]] as const) {
      expect(field(text, 'branch')).toBe(`vr/${id}`);
      expect(field(text, 'base_branch')).toBe('main');
      expect(field(text, 'base_commit')).toBe(mainHead);
      const head = field(text, 'head_commit')!;
      expect(sh(repo, 'rev-parse', `vr/${id}`)).toBe(head);
      expect(sh(repo, 'rev-parse', `${head}^`)).toBe(mainHead);
      expect(field(text, 'files_changed')).toBe('1');
      expect(field(text, 'insertions')).toBe('1');
      expect(field(text, 'deletions')).toBe('0');
      expect(field(text, 'review')).toBe(`[[Reviews/${id}]]`);
    }
    // task-b worked in the src/ subfolder of its worktree.
    expect(sh(repo, 'show', '--name-only', '--format=', 'vr/task-b')).toBe('src/work-task-b.txt');
    expect(sh(repo, 'log', '-1', '--format=%an <%ae>%n%s', 'vr/task-a')).toBe('vaultrunner <vaultrunner@localhost>\nTask A');

    // The review note: criteria with the agent's claim, summary, files, diff; the patch beside it.
    const review = readFileSync(join(h.vault, 'Reviews', 'task-a.md'), 'utf8');
    expect(review).toContain('review_of: "[[task-a]]"'); // by name: it stays right when the note is filed in Done/
    expect(review).toMatch(/- ✅ the work file exists · \*agent: met\* — wrote it/);
    expect(review).toMatch(/^> Wrote work\\?-task\\?-a\\?\.txt/m);
    expect(review).toContain('## Files changed (1, +1 −0)');
    expect(review).toContain('```diff');
    expect(review).toContain('+work of task-a');
    const patch = readFileSync(join(h.vault, 'Reviews', 'task-a.patch'), 'utf8');
    expect(patch).toContain('diff --git a/work-task-a.txt b/work-task-a.txt');
    // The person's checkout still has not moved.
    expect(snapshot(repo)).toEqual(before);
  });

  it('a success whose deadline passes while its leftover job is being stopped is committed and reviewed, not filed bare', async () => {
    // The agent exits 0 when 2.5 s old; its SIGTERM-ignoring job holds the run's end for the
    // leftover grace (1 s), and the 3 s deadline falls inside it.
    h = createHarness({ AGENT: 'leaves', COMMAND_AGENTS: JSON.stringify({ leaves: fixtureAgent('leaves-job') }) }, { agentEnv: { FIXTURE_EXIT_AT_MS: '2500' } });
    const repo = repoIn(h);
    await h.start();
    h.drop('late', `type: claude_code\nworking_dir: ${repo}\ntimeout: 3s`);
    const t = await waitFor(() => h.find('late')?.folder === 'Done' && h.find('late')!.text, 'late done', 60_000);
    const head = field(t, 'head_commit');
    expect(head, t).toBeDefined();
    expect(sh(repo, 'show', '--name-only', '--format=', head!)).toBe('work-late.txt');
    expect(field(t, 'review')).toBe('[[Reviews/late]]');
    expect(h.logLines().find((l) => l.task === 'late' && l.to === 'done')).toBeDefined();
  }, 90_000);

  it('fails permanently with a clear error when the base branch does not exist (no retry)', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS });
    const repo = repoIn(h);
    await h.start();
    h.drop('no-base', `type: claude_code\nworking_dir: ${repo}\nbase_branch: nope\nmax_attempts: 3`);
    const t = await waitFor(() => h.status('no-base') === 'failed' && h.find('no-base')!.text, 'failed');
    expect(t).toContain('error: "BASE_BRANCH_MISSING: base branch \\"nope\\" does not exist in');
    expect(h.runs()).toHaveLength(0);
  });

  it('a working_dir outside any repository still runs in place, as before', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS });
    const dir = join(realpathSync(h.root), 'plain');
    writeFiles(dir, { 'x.txt': 'x\n' });
    await h.start();
    h.drop('plain', `type: claude_code\nworking_dir: ${dir}`);
    const t = await waitFor(() => h.find('plain')?.folder === 'Done' && h.find('plain')!.text, 'done');
    expect(existsSync(join(dir, 'work-plain.txt'))).toBe(true);
    expect(t).not.toMatch(/^head_commit:/m);
  });
});

describe('a cancelled task in a worktree', () => {
  it('commits what the agent left on its branch, removes the worktree and keeps the branch', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS }, { agentEnv: { FIXTURE_SLEEP_MS: '20000' } });
    const repo = repoIn(h);
    const before = snapshot(repo);
    await h.start();
    const path = h.drop('stop-me', `type: claude_code\ntitle: Stop me\nworking_dir: ${repo}`);
    await waitFor(() => h.runs().length === 1 && h.status('stop-me') === 'executing', 'running');
    const wt = sh(repo, 'worktree', 'list', '--porcelain').split('\n').find((l) => l.startsWith('worktree ') && l.includes('stop-me'))!.slice('worktree '.length);
    await waitFor(() => existsSync(join(wt, 'work-stop-me.txt')), 'the agent wrote its file');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: .*$/m, 'status: cancelled'));
    await waitFor(() => !existsSync(wt), 'worktree removed');
    expect(sh(repo, 'show', '--name-only', '--format=%s', 'vr/stop-me')).toBe('Stop me (cancelled)\n\nwork-stop-me.txt');
    expect(sh(repo, 'worktree', 'list')).not.toContain('stop-me');
    expect(snapshot(repo)).toEqual(before);
  });
});

describe('gates after the commit', () => {
  const gate = (js: string) => ['node', '-e', js];

  it('a failing gate goes back to the same session, which fixes it; the task is done with the gates summary', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, GATES: JSON.stringify({ fixed: gate("process.exit(require('fs').existsSync('fixed.txt')?0:1)") }), MAX_FIX_ROUNDS: '2' });
    const repo = repoIn(h);
    const before = snapshot(repo);
    await h.start();
    h.drop('fix-me', `type: claude_code\ntitle: Fix me\nworking_dir: ${repo}`);
    const t = await waitFor(() => h.find('fix-me')?.folder === 'Done' && h.find('fix-me')!.text, 'done');
    expect(field(t, 'gate_results')).toBe('fixed passed');
    expect(field(t, 'files_changed')).toBe('2');
    // The fix was made by the resumed session and committed on the same branch.
    expect(sh(repo, 'rev-list', '--count', 'main..vr/fix-me')).toBe('2');
    expect(sh(repo, 'show', 'vr/fix-me:fixed.txt')).toContain('The gate "fixed"');
    const review = readFileSync(join(h.vault, 'Reviews', 'fix-me.md'), 'utf8');
    expect(review).toContain('*Passing took 1 fix round of the agent.*');
    expect(review).toContain('| fixed | ✅ passed |');
    expect(snapshot(repo)).toEqual(before);
  });

  it('a gate still failing after MAX_FIX_ROUNDS fails the task, naming the gate; branch and worktree are kept', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, GATES: JSON.stringify({ never: gate("console.log('boom');process.exit(3)"), fine: gate('process.exit(0)') }), MAX_FIX_ROUNDS: '1' });
    const repo = repoIn(h);
    await h.start();
    h.drop('hopeless', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 3`);
    const t = await waitFor(() => h.status('hopeless') === 'failed' && h.find('hopeless')!.text, 'failed');
    expect(t).toMatch(/^error: "?gate never failed after 1 fix round\(s\): never failed \(exit 3\)/m);
    expect(field(t, 'gate_results')).toBe('never failed (exit 3), fine passed');
    // One attempt: the first run and its one fix round (a resume of the same session, not a retry).
    expect(h.runs().map((r) => `${r.task}#${r.attempt}`)).toEqual(['hopeless#1', 'hopeless#1']);
    expect(sh(repo, 'branch', '--list', 'vr/hopeless')).toContain('vr/hopeless');
    expect(existsSync(join(h.root, 'worktrees'))).toBe(true);
    const review = readFileSync(join(h.vault, 'Reviews', 'hopeless.md'), 'utf8');
    expect(review).toContain('> [!failure]- never: the end of its output');
    expect(review).toContain('boom');
  });

  it('a note may only choose among the operator\'s gates; REVIEW=always sends a passing task to in_review', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, GATES: JSON.stringify({ never: gate('process.exit(3)'), fine: gate('process.exit(0)') }), REVIEW: 'always' });
    const repo = repoIn(h);
    await h.start();
    h.drop('subset', `type: claude_code\nworking_dir: ${repo}\ngates: [fine]`);
    h.drop('widen', `type: claude_code\nworking_dir: ${repo}\ngates: [rm-rf]`);
    const t = await waitFor(() => h.status('subset') === 'in_review' && h.find('subset')!.text, 'in review');
    expect(field(t, 'gate_results')).toBe('fine passed');
    const w = await waitFor(() => h.status('widen') === 'failed' && h.find('widen')!.text, 'failed');
    expect(w).toContain('error: "GATE_UNKNOWN: the note asks for gate(s) \\"rm-rf\\" that the operator has not defined');
    expect(h.runs().map((r) => r.task)).toEqual(['subset']); // refused before any agent ran
  });
});
