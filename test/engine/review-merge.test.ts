// The review loop and the merge, end to end: a real service, real temp repositories, command agents
// that change files in their worktree. `## Result` once per round; feedback to the same session,
// sent once; MERGE on done with a dirty checkout and a conflict refused into in_review.
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, fixtureAgent, waitFor, type Harness } from '../helpers/vault-harness.js';
import { sh, snapshot, writeFiles, gitRepoWithCommit, noteField } from '../workspace/repo-fixture.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

const AGENTS = JSON.stringify({ review: fixtureAgent('review-worker'), git: fixtureAgent('git-worker') });

function repoIn(h: Harness, name = 'repo'): string {
  return gitRepoWithCommit(join(realpathSync(h.root), name), { 'README.md': 'hello\n', 'src/app.js': 'console.log(1);\n' });
}

const field = noteField;
const setStatus = (path: string, status: string, append = '') => writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: .*$/m, `status: ${status}`) + append);
const worktreeOf = (repo: string, id: string) => sh(repo, 'worktree', 'list', '--porcelain').split('\n').find((l) => l.startsWith('worktree ') && l.endsWith(`/${id}`))?.slice('worktree '.length);

describe('the review loop', () => {
  it('## Result once; feedback goes to the same session in the same worktree, once; another commit; review note rewritten', async () => {
    h = createHarness({ AGENT: 'review', COMMAND_AGENTS: AGENTS, GATES: JSON.stringify({ ok: ['node', '-e', 'process.exit(0)'] }) });
    const repo = repoIn(h);
    const before = snapshot(repo);
    await h.start();
    const path = h.drop('loop', `type: claude_code\ntitle: Loop\nworking_dir: ${repo}\nrequires_review: true`, 'Do the thing.\n');
    const first = await waitFor(() => h.status('loop') === 'in_review' && h.find('loop')!.text, 'in review', 30_000);
    // The summary, once, quoted, after every byte the person wrote.
    expect(first).toContain('Do the thing.\n\n## Result\n\n> Wrote work-loop.txt.\n');
    expect(first.match(/## Result/g)).toHaveLength(1);
    const head1 = field(first, 'head_commit')!;
    const wt = worktreeOf(repo, 'loop')!;
    expect(existsSync(wt)).toBe(true);

    // Round 2: the person writes feedback and sets planned.
    setStatus(path, 'planned', '\n## Feedback\n\nAlso handle the empty cart.\n');
    const second = await waitFor(() => h.status('loop') === 'in_review' && field(h.find('loop')!.text, 'head_commit') !== head1 && h.find('loop')!.text, 'in review again', 30_000);
    const head2 = field(second, 'head_commit')!;
    expect(sh(repo, 'rev-parse', `${head2}^`)).toBe(head1); // another commit on the same branch
    const round1 = sh(repo, 'show', 'vr/loop:round-1.txt');
    expect(round1).toMatch(/^session: session-loop\nThe person reviewed your work/);
    expect(round1).toContain('Also handle the empty cart.');
    expect(worktreeOf(repo, 'loop')).toBe(wt);
    expect(second).toMatch(/## Feedback\n\nAlso handle the empty cart\.\n\n## Result \(after feedback, [0-9T:-]+\)\n\n> Round 1: did what the feedback asked\.\n$/);
    expect(second.match(/^## Result/gm)).toHaveLength(2);
    expect(readFileSync(join(h.vault, 'Reviews', 'loop.md'), 'utf8')).toContain('Round 1: did what the feedback asked.');

    // Round 3: more feedback appended; only the new text is sent.
    setStatus(h.find('loop')!.path, 'planned', '\n## Feedback\n\nRename the button.\n');
    await waitFor(() => h.status('loop') === 'in_review' && (h.find('loop')!.text.match(/^## Result/gm) ?? []).length === 3, 'third round', 30_000);
    const round2 = sh(repo, 'show', 'vr/loop:round-2.txt');
    expect(round2).toContain('Rename the button.');
    expect(round2).not.toContain('empty cart');
    expect(h.runs().map((r) => r.task)).toEqual(['loop', 'loop', 'loop']);
    expect(snapshot(repo)).toEqual(before);
  }, 120_000);
});

describe('MERGE when a task reaches done', () => {
  it('accepting with a dirty checkout is refused back to in_review; after a commit, accepting again squashes into main and removes the worktree', async () => {
    h = createHarness({ AGENT: 'review', COMMAND_AGENTS: AGENTS, MERGE: 'squash' });
    const repo = repoIn(h);
    await h.start();
    const path = h.drop('accept', `type: claude_code\ntitle: Accept me\nworking_dir: ${repo}\nrequires_review: true`);
    await waitFor(() => h.status('accept') === 'in_review', 'in review', 30_000);
    const wt = worktreeOf(repo, 'accept')!;
    const tip = sh(repo, 'rev-parse', 'vr/accept');
    // The person is halfway through an edit in their checkout of main.
    writeFiles(repo, { 'README.md': 'hello, mine\n' });
    const dirty = snapshot(repo);
    const mainBefore = sh(repo, 'rev-parse', 'main');
    setStatus(path, 'done');
    const back = await waitFor(() => h.status('accept') === 'in_review' && /^error:/m.test(h.find('accept')!.text) && h.find('accept')!.text, 'back in review', 30_000);
    expect(back).toMatch(/^error: "?BASE_DIRTY: main is checked out in .* with uncommitted changes \(README\.md\)/m);
    expect(snapshot(repo)).toEqual(dirty); // nothing of theirs touched
    expect(sh(repo, 'rev-parse', 'main')).toBe(mainBefore);
    expect(sh(repo, 'rev-parse', 'vr/accept')).toBe(tip); // branch intact
    expect(existsSync(wt)).toBe(true);
    expect(h.find('accept')!.folder).toBe('Needs_Action');

    sh(repo, 'commit', '-qam', 'my edit');
    setStatus(h.find('accept')!.path, 'done');
    const done = await waitFor(() => h.find('accept')?.folder === 'Done' && h.find('accept')!.text, 'filed in Done', 30_000);
    const merged = sh(repo, 'rev-parse', 'main');
    expect(field(done, 'merge_commit')).toBe(merged);
    expect(done).not.toMatch(/^error:/m);
    expect(sh(repo, 'rev-list', '--parents', '-n', '1', 'main').split(' ')).toHaveLength(2); // squash: one parent
    expect(sh(repo, 'log', '-1', '--format=%s', 'main')).toBe('Accept me');
    expect(readFileSync(join(repo, 'work-accept.txt'), 'utf8')).toBe('work of accept\n'); // the clean checkout moved with it
    expect(sh(repo, 'status', '--porcelain')).toBe('');
    expect(existsSync(wt)).toBe(false);
    expect(sh(repo, 'rev-parse', 'vr/accept')).toBe(tip); // the branch stays (gc deletes it once merged)
  }, 90_000);

  it('a run whose merge is refused back into review keeps whose session it is: a round sent with another agent starts its own', async () => {
    h = createHarness({ AGENT: 'review', COMMAND_AGENTS: JSON.stringify({ review: fixtureAgent('review-worker'), other: fixtureAgent('review-worker') }), MERGE: 'squash' });
    const repo = repoIn(h);
    writeFiles(repo, { 'README.md': 'hello, mine\n' }); // the person's edit in their checkout: the merge is refused
    await h.start();
    const path = h.drop('refused', `type: claude_code\ntitle: Refused\nworking_dir: ${repo}`);
    const back = await waitFor(() => h.status('refused') === 'in_review' && /^error: "?BASE_DIRTY/m.test(h.find('refused')!.text) && h.find('refused')!.text, 'refused back into review', 30_000);
    expect(field(back, 'session_id')).toBe('session-refused');
    // The round, sent while the service is down, to the other agent: it must not get session-refused.
    await h.stop();
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: in_review$/m, 'status: planned').replace(/^type: claude_code$/m, 'type: claude_code\nagent: other') + '\n## Feedback\nAlso handle the empty case.\n');
    await h.start();
    const t2Path = join(h.vault, 'Logs', 'runs', 'refused', 'attempt-2.md');
    const t2 = await waitFor(() => existsSync(t2Path) && readFileSync(t2Path, 'utf8').includes('- **Finished:**') && readFileSync(t2Path, 'utf8'), 'the round ran', 30_000);
    expect(t2).toContain("The task's agent changed from review to other: a new session");
    expect(t2).toContain('> ## Task'); // the whole task, not a follow-up in the other agent's session
  }, 90_000);

  it('a task that needs no review is merged at once (MERGE=merge: a merge commit); a conflict sends the other to in_review naming the file', async () => {
    h = createHarness({ AGENT: 'conflicting', COMMAND_AGENTS: JSON.stringify({ conflicting: ['node', '-e', "require('fs').writeFileSync('README.md','agent '+process.env.VAULTRUNNER_TASK_ID+'\\n');console.log(JSON.stringify({vaultrunner:'result',result:'Rewrote README.'}))"] }), MERGE: 'merge' });
    const repo = repoIn(h);
    await h.start();
    h.drop('first', `type: claude_code\ntitle: First\nworking_dir: ${repo}\nbase_branch: main`);
    const first = await waitFor(() => h.find('first')?.folder === 'Done' && h.find('first')!.text, 'first done', 30_000);
    const m = sh(repo, 'rev-parse', 'main');
    expect(field(first, 'merge_commit')).toBe(m);
    expect(sh(repo, 'rev-list', '--parents', '-n', '1', 'main').split(' ')).toHaveLength(3); // two parents
    expect(first).toContain('## Result\n\n> Rewrote README.\n');
    // A second task forks from an older main: its README.md edit conflicts with the first's.
    const second = h.drop('second', `type: claude_code\ntitle: Second\nworking_dir: ${repo}\nbase_branch: main\nstatus: draft`);
    sh(repo, 'branch', 'vr/second', `${m}~1`);
    setStatus(second, 'planned');
    const t = await waitFor(() => h.status('second') === 'in_review' && h.find('second')!.text, 'second in review', 30_000);
    expect(t).toMatch(/^error: "?MERGE_CONFLICT: vr\/second conflicts with main in 1 file\(s\): README\.md/m);
    expect(sh(repo, 'rev-parse', 'main')).toBe(m);
    expect(worktreeOf(repo, 'second')).toBeDefined(); // kept for the person to resolve
  }, 90_000);

  it('MERGE=none: done removes the worktree and keeps the branch; main does not move', async () => {
    h = createHarness({ AGENT: 'review', COMMAND_AGENTS: AGENTS });
    const repo = repoIn(h);
    const main = sh(repo, 'rev-parse', 'main');
    await h.start();
    h.drop('keep', `type: claude_code\nworking_dir: ${repo}`);
    const t = await waitFor(() => h.find('keep')?.folder === 'Done' && h.find('keep')!.text, 'done', 30_000);
    expect(t).not.toMatch(/^merge_commit:/m);
    expect(sh(repo, 'rev-parse', 'main')).toBe(main);
    expect(sh(repo, 'rev-parse', 'vr/keep')).toBe(field(t, 'head_commit'));
    expect(worktreeOf(repo, 'keep')).toBeUndefined();
  }, 60_000);
});

describe('a task cancelled while it waits in review', () => {
  it('loses its clean worktree and keeps its branch; filed in Done/', async () => {
    h = createHarness({ AGENT: 'review', COMMAND_AGENTS: AGENTS });
    const repo = repoIn(h);
    await h.start();
    const path = h.drop('drop-it', `type: claude_code\nworking_dir: ${repo}\nrequires_review: true`);
    const t = await waitFor(() => h.status('drop-it') === 'in_review' && h.find('drop-it')!.text, 'in review', 30_000);
    const wt = worktreeOf(repo, 'drop-it')!;
    expect(existsSync(wt)).toBe(true);
    setStatus(path, 'cancelled');
    await waitFor(() => h.find('drop-it')?.folder === 'Done', 'filed', 30_000);
    await waitFor(() => !existsSync(wt), 'worktree removed', 30_000);
    expect(sh(repo, 'rev-parse', 'vr/drop-it')).toBe(field(t, 'head_commit'));
    expect(sh(repo, 'rev-parse', 'main')).toBe(field(t, 'base_commit'));
  }, 60_000);
});
