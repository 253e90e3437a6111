// The review note: every section from real-looking input, and hostile text (from the agent, a
// gate, a file name or the diff) that must not break out of its place in the note.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { acceptanceCriteria, criteriaClaims, criteriaPrompt, renderReviewNote, type ReviewNoteInput } from '../../src/runs/review-note.js';

const base: ReviewNoteInput = {
  taskId: 'fix-login',
  title: 'Fix the login redirect',
  taskLink: 'Needs_Action/fix-login',
  generatedAt: '2026-12-01T17:00:00',
  branch: 'vr/fix-login',
  baseBranch: 'main',
  baseCommit: 'a'.repeat(40),
  headCommit: 'b'.repeat(40),
  criteria: [
    { text: 'Redirects to the page the user came from', met: true, evidence: 'test login.spec.ts passes' },
    { text: 'No open redirect', met: false, evidence: 'not checked' },
    { text: 'Docs updated' },
  ],
  summary: 'Changed `redirect()` to keep `next`.',
  gates: [
    { name: 'test', ok: true, exitCode: 0, durationMs: 1234, outputTail: 'ok' },
    { name: 'lint', ok: false, exitCode: 1, durationMs: 80, outputTail: 'src/a.ts: 3 problems\n```\nmore' },
  ],
  fixRounds: 1,
  files: [
    { path: 'src/login.ts', insertions: 10, deletions: 2 },
    { path: 'logo.png', insertions: null, deletions: null },
  ],
  insertions: 10,
  deletions: 2,
  diff: { text: 'diff --git a/src/login.ts b/src/login.ts\n+added\n-removed\n', truncated: false, bytes: 52 },
  patchLink: 'Reviews/fix-login.patch',
};

/** Lines outside fenced blocks (what Obsidian parses as Markdown). */
function outsideFences(md: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const raw of md.split('\n')) {
    const line = raw.replace(/^> /, '');
    const m = /^(`{3,})/.exec(line);
    if (m && !fence) fence = m[1];
    else if (m && fence && m[1]!.length >= fence.length && line.trim() === m[1]) fence = undefined;
    else if (!fence) out.push(raw);
  }
  return out;
}

describe('renderReviewNote', () => {
  it('has frontmatter and every section', () => {
    const md = renderReviewNote(base);
    const fm = parseYaml(md.split('---\n')[1]!) as Record<string, string>;
    expect(fm).toEqual({
      review_of: '[[Needs_Action/fix-login]]',
      branch: 'vr/fix-login',
      base_branch: 'main',
      base_commit: 'a'.repeat(40),
      head_commit: 'b'.repeat(40),
      gates: 'failed',
      generated: '2026-12-01T17:00:00',
    });
    expect(md).toContain('# Review: Fix the login redirect');
    expect(md).toContain('Task [[Needs_Action/fix-login|Fix the login redirect]]');
    expect(md).toContain('- ✅ Redirects to the page the user came from · *agent: met* — test login.spec.ts passes');
    expect(md).toContain('- ❌ No open redirect · *agent: not met* — not checked');
    expect(md).toContain('- ❔ Docs updated · *agent: no claim*');
    expect(md).toContain('> Changed `redirect()` to keep `next`.');
    expect(md).toContain('| test | ✅ passed | 0 | 1.2 s |');
    expect(md).toContain('| lint | ❌ failed | 1 | 80 ms |');
    expect(md).toContain('*Passing took 1 fix round of the agent.*');
    expect(md).toContain('> [!failure]- lint: the end of its output');
    expect(md).toContain('## Files changed (2, +10 −2)');
    expect(md).toContain('- `src/login.ts` +10 −2');
    expect(md).toContain('- `logo.png` *binary*');
    expect(md).toContain('```diff\ndiff --git a/src/login.ts b/src/login.ts\n+added\n-removed\n```');
    expect(md).toContain('*Full patch: [[Reviews/fix-login.patch|fix-login.patch]]*');
    expect(md).not.toContain('Permission denials');
  });

  it('a failing gate’s output with a fence in it stays inside its (longer) fence, in the callout', () => {
    const md = renderReviewNote(base);
    const callout = md.slice(md.indexOf('> [!failure]'));
    expect(callout).toMatch(/^> ````\n> src\/a\.ts: 3 problems\n> ```\n> more\n> ````$/m);
  });

  it('a diff holding fences, wikilinks, tags and HTML cannot leave its block', () => {
    const hostile = 'diff --git a/x.md b/x.md\n+```\n+[[Secret]] #tag <script>x</script> %%c%%\n+````\n';
    const md = renderReviewNote({ ...base, diff: { text: hostile, truncated: false, bytes: hostile.length } });
    const outside = outsideFences(md).join('\n');
    expect(outside).not.toContain('[[Secret]]');
    expect(outside).not.toContain('<script>');
    expect(md).toContain('`````diff\n');
  });

  it('hostile titles, criteria, summaries, file names and denials are escaped', () => {
    const md = renderReviewNote({
      ...base,
      title: 'Fix [[Other]] | #tag <b>',
      criteria: [{ text: 'Works with [[links]] and <img src=x>', met: true, evidence: '#proof %%x%%' }],
      summary: 'See [[Private note]] and ![[embed.png]] <iframe>',
      files: [{ path: 'we`ird | [[name]].ts', insertions: 1, deletions: 0 }],
      permissionDenials: ['Write(/etc/passwd) [[x]]'],
    });
    const outside = outsideFences(md);
    // Inline code spans are literal in Obsidian; what matters is the text around them.
    const text = outside.join('\n').replace(/(`+)(?:(?!\1).)+?\1/g, '');
    expect(text).not.toMatch(/(?<!\\)\[\[(Other|links|Private note|name)/);
    expect(text).not.toMatch(/(?<!\\)<(b|img|iframe)/);
    expect(text).not.toMatch(/(?<![\\`])#(tag|proof)/);
    expect(md).toContain('Task [[Needs_Action/fix-login|Fix Other tag b]]');
    expect(md).toContain('## Permission denials');
    expect(md).toContain('``we`ird | [[name]].ts``');
    // The frontmatter is still valid YAML with the title untouched in its own key set.
    expect(() => parseYaml(md.split('---\n')[1]!)).not.toThrow();
  });

  it('a cut diff says so and links the full patch; a merge problem is shown first', () => {
    const md = renderReviewNote({
      ...base,
      diff: { text: 'diff --git a/a b/a\n+x\n', truncated: true, bytes: 300 * 1024 },
      mergeProblem: { reason: 'main is checked out in /home/me/app with uncommitted changes', files: ['README.md'] },
    });
    expect(md).toMatch(/\*The diff is cut here \(\d+ B of 300 KB\)\. The full patch: \[\[Reviews\/fix-login\.patch\|fix-login\.patch\]\]\*/);
    expect(md.indexOf('[!warning] Not merged')).toBeLessThan(md.indexOf('## Acceptance criteria'));
    expect(md).toContain('> - `README.md`');
  });

  it('nothing to show: no criteria, no gates, no changes', () => {
    const md = renderReviewNote({ ...base, criteria: [], gates: [], files: [], insertions: 0, deletions: 0, diff: { text: '', truncated: false, bytes: 0 }, summary: '' });
    expect(md).toContain('*The task note lists no acceptance criteria.*');
    expect(md).toContain('*No gates are defined for this repository.*');
    expect(md).toContain('*No changes.*');
    expect(md).toContain('*No summary.*');
    expect(md).toMatch(/^gates: none$/m);
  });
});

describe('acceptance criteria', () => {
  it('reads the checkbox items under the acceptance heading only, not in code blocks', () => {
    const body = [
      '# Task',
      '- [ ] not a criterion',
      '## Acceptance criteria',
      '- [ ] Redirects back',
      '  * [x] Handles `next=`',
      '```',
      '- [ ] in a code block',
      '```',
      '### Detail (still inside)',
      '- [ ] Sub item',
      '## Notes',
      '- [ ] after the section',
    ].join('\n');
    expect(acceptanceCriteria(body)).toEqual(['Redirects back', 'Handles `next=`', 'Sub item']);
    expect(acceptanceCriteria('no heading\n- [ ] x')).toEqual([]);
  });

  it('prompt lists them; claims are read back from the agent’s final message', () => {
    const criteria = ['Redirects back', 'Handles `next=`', 'Docs'];
    expect(criteriaPrompt(criteria)).toContain('- [ ] Handles `next=`');
    expect(criteriaPrompt([])).toBe('');
    const final = 'Done.\n- [x] Redirects back — login.spec.ts passes\n- [ ] handles next= — not done yet\n- [x] Something else';
    expect(criteriaClaims(criteria, final)).toEqual([
      { text: 'Redirects back', met: true, evidence: 'login.spec.ts passes' },
      { text: 'Handles `next=`', met: false, evidence: 'not done yet' },
      { text: 'Docs' },
    ]);
  });
});
