// The review loop's reading of a note body: feedback sections, what is new, and `## Result`.
import { describe, expect, it } from 'vitest';
import { feedbackSections, hasResult, unsentFeedback } from '../../src/domain/feedback.js';
import { resultSection } from '../../src/runs/result-section.js';
import { appendToBody } from '../../src/vault/note-store.js';

const body = ['Do it.', '', '## Result', '', '> did it', '', '## Feedback', '', 'Also X.', '### detail', 'more', '', '```md', '## Feedback', 'not a heading', '```', '', '## Notes', 'mine'].join('\n');

describe('feedback sections', () => {
  it('reads each ## Feedback up to the next level-2 heading, ignoring headings in code fences', () => {
    expect(feedbackSections(body)).toEqual(['Also X.\n### detail\nmore\n\n```md\n## Feedback\nnot a heading\n```']);
    expect(feedbackSections('## Feedback\n\n## Feedback\nB\n')).toEqual(['B']);
  });

  it('sends only what is new: a new section, or what was appended to one already sent', () => {
    const one = 'x\n\n## Feedback\nFirst.\n';
    const a = unsentFeedback(one, [])!;
    expect(a).toEqual({ text: 'First.', all: ['First.'] });
    expect(unsentFeedback(one, a.all)).toBeUndefined();
    const grown = `${one}Second line.\n`;
    expect(unsentFeedback(grown, a.all)!.text).toBe('Second line.');
    const two = `${one}\n## Feedback\nThird.\n`;
    expect(unsentFeedback(two, a.all)).toEqual({ text: 'Third.', all: ['First.', 'Third.'] });
  });

  it('knows whether a result was written', () => {
    expect(hasResult(body)).toBe(true);
    expect(hasResult('Do it.\n```\n## Result\n```\n')).toBe(false);
  });
});

describe('## Result', () => {
  it('quotes the summary so it cannot add a section, link or tag; a later round gets a dated heading', () => {
    const first = resultSection('Do it.\n', 'Done.\n## Feedback\nsee [[x]] #tag', '2026-01-02T03:04:05')!;
    // Inside the quote a heading is the quote's, never a section of the note.
    expect(first).toBe('## Result\n\n> Done.\n> ## Feedback\n> see \\[\\[x]] \\#tag\n');
    expect(feedbackSections(`Do it.\n\n${first}`)).toEqual([]);
    expect(resultSection(`Do it.\n\n${first}`, 'Again.', '2026-01-02T03:04:05')).toBe('## Result (after feedback, 2026-01-02T03:04:05)\n\n> Again.\n');
    expect(resultSection('x', '  ', 'now')).toBeUndefined();
  });

  it('is appended after every byte of the note, in its line ending', () => {
    expect(appendToBody('---\na: 1\n---\nBody', '## R\n\nx\n')).toBe('---\na: 1\n---\nBody\n\n## R\n\nx\n');
    expect(appendToBody('Body\n\n', '## R\n')).toBe('Body\n\n## R\n');
    expect(appendToBody('a\r\nb\r\n', '## R\nx\n')).toBe('a\r\nb\r\n\r\n## R\r\nx\r\n');
  });
});
