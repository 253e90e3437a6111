// The cheap frontmatter edit must write exactly the bytes the YAML-document edit writes, or leave
// the note to it; and it must answer for the plain notes the service edits at every transition.
import { describe, expect, it } from 'vitest';
import { fastEditYaml } from '../../src/vault/frontmatter-edit-fast.js';
import { applyEdits, applyEditsFull, formatScalar, FrontmatterSyntaxError, splitNote, type FieldEdits } from '../../src/vault/frontmatter.js';
import { fuzz } from '../helpers/frontmatter-fuzz.js';

function full(text: string, edits: FieldEdits): { text?: string; error?: string } {
  try {
    return { text: applyEditsFull(splitNote(text), edits) };
  } catch (err) {
    if (err instanceof FrontmatterSyntaxError) return { error: err.message };
    throw err;
  }
}

/** Every answer of the cheap edit equals the full edit's; returns how many it answered. */
function agree(text: string, edits: FieldEdits): boolean {
  const split = splitNote(text);
  const yaml = fastEditYaml(split.yaml, split.eol, edits, formatScalar);
  if (yaml === undefined) return false;
  const f = full(text, edits);
  expect(f.error, `the full edit refuses what the cheap edit wrote:\n${text}\n${JSON.stringify(edits)}`).toBeUndefined();
  expect(split.bom + split.open + yaml + split.close + split.body, `${text}\n${JSON.stringify(edits)}`).toBe(f.text);
  return true;
}

const EDITS: FieldEdits[] = [
  { status: 'planned' },
  { status: 'executing', started: '2026-12-02T08:00:00' },
  { status: 'done', finished: '2026-12-02T08:01:00', error: undefined },
  { title: "it's", a: 1, b: true },
  { status: null },
  { type: undefined, tags: 'x' },
  { a: 'two words', b: '123', title: 'line\nbreak' },
  { 'x_y': -1.5, 'k-1': 'a: b', status: '"quoted"' },
  { b: undefined, a: undefined },
  { new_key: 'v', status: 'cancelled' },
];

describe('cheap frontmatter edit', () => {
  it('writes what the full edit writes on a task note at every transition, and answers', () => {
    let text = '---\ntype: claude_code\ntitle: Fix the login bug\npriority: high\n---\nBody [[link]]\n';
    const steps: FieldEdits[] = [
      { status: 'planned', plan: '[[PLAN_x]]', planned_at: '2026-12-02T08:00:00' },
      { status: 'executing', attempt: 1 },
      { status: 'done', attempt: undefined, finished_at: '2026-12-02T08:00:03' },
    ];
    for (const edits of steps) {
      expect(agree(text, edits)).toBe(true);
      text = applyEdits(text, edits);
    }
    expect(text).toBe('---\ntype: claude_code\ntitle: Fix the login bug\npriority: high\nstatus: done\nplan: "[[PLAN_x]]"\nplanned_at: 2026-12-02T08:00:00\nfinished_at: 2026-12-02T08:00:03\n---\nBody [[link]]\n');
  });

  it('keeps quote styles, spacing and CRLF line ends as the full edit does', () => {
    const notes = [
      "---\r\nstatus: 'new'\r\ntitle:   spaced   \r\n---\r\nbody\r\n",
      '---\nstatus: "new"\ntitle: x\n---\n',
      '---\nstatus:\ntitle: x\n---\n',
      '\uFEFF---\nstatus: new\n---\nbody',
      '---\nstatus: new\n\n# a comment line\ntitle: x\n---\n',
    ];
    let answered = 0;
    for (const n of notes) for (const e of EDITS) if (agree(n, e)) answered++;
    expect(answered).toBeGreaterThan(notes.length * 3);
  });

  it('leaves comments, lists and odd YAML to the full edit', () => {
    for (const yaml of ['status: new # keep me\n', 'tags: [a, b]\n', 'tags:\n  - a\n', 'a: &x 1\nb: *x\n', 'a:\n  b: 1\n', 'status: a #b\n']) {
      const key = yaml.split(':')[0]!;
      expect(fastEditYaml(yaml, '\n', { [key]: 'done' }, formatScalar), yaml).toBeUndefined();
    }
  });

  it('agrees with the full edit on 20,000 random near-miss documents', () => {
    let answered = 0;
    let i = 0;
    for (const yaml of fuzz(20_000)) {
      const eol = yaml.endsWith('\r\n') ? '\r\n' : '\n';
      if (agree(`---${eol}${yaml}---${eol}body${eol}`, EDITS[i++ % EDITS.length]!)) answered++;
    }
    expect(answered).toBeGreaterThan(1000); // exercised, not bailing on everything
  });
});
