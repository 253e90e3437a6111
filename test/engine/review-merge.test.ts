// The review loop and the merge, end to end: a real service, real temp repositories, command agents
// that change files in their worktree. `## Result` once per round; feedback to the same session,
// sent once; MERGE on done with a dirty checkout and a conflict refused into in_review.
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, fixtureAgent, waitFor, type Harness } from '../helpers/vault-harness.js';
import { sh, snapshot, writeFiles } from '../workspace/repo-fixture.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

const AGENTS = JSON.stringify({ review: fixtureAgent('review-worker'), git: fixtureAgent('git-worker') });

function repoIn(h: Harness, name = 'repo'): string {
  const repo = join(realpathSync(h.root), name);
  writeFiles(repo, { 'README.md': 'hello\n', 'src/app.js': 'console.log(1);\n' });
  sh(repo, 'init', '-q', '-b', 'main');
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'first');
  return repo;
}

const field = (text: string, key: string) => new RegExp(`^${key}: *"?([^"\\n]*)"?$`, 'm').exec(text)?.[1];
const setStatus = (path: string, status: string, append = '') => writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: .*$/m, `status: ${status}`) + append);
const worktreeOf = (repo: string, id: string) => sh(repo, 'worktree', 'list', '--porcelain').split('\n').find((l) => l.startsWith('worktree ') && l.endsWith(`/${id}`))?.slice('worktree '.length);

describe('the review loop', () => {
  it('## Result once; feedback goes to the same session in the same worktree, once; another commit; review note rewritten', async () => {
    h = createHarness({ AGENT: 'review', COMMAND_AGENTS: AGENTS, GATES: JSON.stringify({ ok: ['node', '-e', 'process.exit(0)'] }) });
    const repo = repoIn(h);
    const before = snapshot(repo);
    await h.start();
    const path = h.drop('loop', `type: claude_code\ntitle: Loop\nworking_dir: ${repo}\nrequires_review: true`, 'Do the thing.\n');
    const first = await waitFor(() => h.status('loop') === 'in_review' && h.find('loop')!.text, 'in review');
    // The summary, once, quoted, after every byte the person wrote.
    expect(first).toContain('Do the thing.\n\n## Result\n\n> Wrote work-loop.txt.\n');
    expect(first.match(/## Result/g)).toHaveLength(1);
    const head1 = field(first, 'head_commit')!;
    const wt = worktreeOf(repo, 'loop')!;
    expect(existsSync(wt)).toBe(true);

    // Round 2: the person writes feedback and sets planned.
    setStatus(path, 'planned', '\n## Feedback\n\nAlso handle the empty cart.\n');
    const second = await waitFor(() => h.status('loop') === 'in_review' && field(h.find('loop')!.text, 'head_commit') !== head1 && h.find('loop')!.text, 'in review again').catch((e) => { console.log(h.find('loop')?.text, JSON.stringify(h.logLines().slice(-25).map((l) => l.msg))); throw e; });
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
    await waitFor(() => h.status('loop') === 'in_review' && (h.find('loop')!.text.match(/^## Result/gm) ?? []).length === 3, 'third round');
    const round2 = sh(repo, 'show', 'vr/loop:round-2.txt');
    expect(round2).toContain('Rename the button.');
    expect(round2).not.toContain('empty cart');
    expect(h.runs().map((r) => r.task)).toEqual(['loop', 'loop', 'loop']);
    expect(snapshot(repo)).toEqual(before);
  });
});
