// The cheap frontmatter reader must agree with the full YAML parser on everything it answers, and
// answer for the plain notes people write (else `list` gains nothing).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fastFrontmatterData } from '../../src/vault/frontmatter-fast.js';
import { fuzz } from '../helpers/frontmatter-fuzz.js';
import { frontmatterData, FrontmatterSyntaxError, parseFrontmatter, splitNote } from '../../src/vault/frontmatter.js';

const ROOT = join(import.meta.dirname, '..', '..');

function full(yaml: string): { data?: Record<string, unknown>; error?: string } {
  try {
    return { data: parseFrontmatter(splitNote(`---\n${yaml}---\n`)).data };
  } catch (err) {
    if (err instanceof FrontmatterSyntaxError) return { error: err.message };
    throw err;
  }
}

/** Every answer of the fast reader equals the full parse; returns how many it answered. */
function agree(corpus: string[]): number {
  let answered = 0;
  for (const yaml of corpus) {
    const fast = fastFrontmatterData(yaml);
    if (fast === undefined) continue;
    answered++;
    const f = full(yaml);
    expect(f.error, `full parser refuses what the fast reader accepted:\n${yaml}`).toBeUndefined();
    expect(fast, yaml).toStrictEqual(f.data);
    for (const [k, v] of Object.entries(fast)) if (typeof v === 'number') expect(Object.is(v, f.data![k]), `${k} in\n${yaml}`).toBe(true);
  }
  return answered;
}

/** Frontmatter of every Markdown note under a folder (the bundled demo vault, the docs). */
function notesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...notesUnder(p));
    else if (e.endsWith('.md')) {
      const s = splitNote(readFileSync(p, 'utf8'));
      if (s.hasFrontmatter) out.push(s.yaml);
    }
  }
  return out;
}

const PLAIN = [
  'type: claude_code\nstatus: new\n',
  'type: claude_code\r\ntitle: "Fix issue #12: the login redirect"\r\npriority: high\r\n',
  "title: 'it is fine'   # a comment\nattempts: 2\napproved: false\nerror:\n",
  'blocked_by:\n  - "[[task-1]]"\n  - setup # why\n\ntags: [bench, list]\n',
  'blocked_by:\n- a\n- b\nnext: 1\n',
  'created: 2026-11-01T10:00\ndue: 2026-12-01\ntimeout: 10m\nmax_attempts: 3\n',
  '# only a comment\n',
  '',
  'a: ~\nb: null\nc: Null\nd: TRUE\ne: False\nf: 0.5\ng: -3\nh: +7\ni: 1e3\nj: .5\nk: 007\nl: 1.\n',
  'title: see [[note]] and {this}, then "that"\nempty: []\nk: x#y\n',
  'key:   \nother: v  \n',
];

// Things the fast reader must leave to the full parser (or get exactly right).
const ODD = [
  'a: 1\na: 2\n', // duplicate
  'a: &x 1\nb: *x\n',
  'a: !!str 1\n',
  'a: |\n  text\n',
  'a: >\n  text\n',
  'a:\n  b: 1\n',
  'a: b: c\n',
  'a: "esc\\"aped"\n',
  "a: 'it''s'\n",
  'a: "unterminated\n',
  'a: [b, [c]]\n',
  'a: [b: c]\n',
  'a: {b: c}\n',
  'a: 0x1F\nb: 0o17\nc: .inf\nd: -.Inf\ne: .nan\n',
  'a: foo\n  bar\n',
  '- a\n- b\n',
  'true: 1\n',
  '__proto__: x\n',
  'a.b: 1\n',
  'a:\tb\n',
  'a: b\rc\n',
  '%YAML 1.2\n',
  'a: @x\n',
  'a: `x`\n',
  'a: - x\n',
  'a:\n  - x\n - y\n',
  'a:\n  - x\n  y\n',
  'a:\n  -\n',
  'a: [ ]\nb: [a, ]\nc: [a,,b]\n',
  'a: x #\nb: "x" #c\nc: \'y\'#d\n',
  'a: 1_000\nb: 1e\nc: 1.2.3\nd: +\ne: -\nf: .\n',
  'a: 12:30\nb: 2026-01-01 10:00\n',
  'a: "\u00e9t\u00e9"\nb: ÅÄÖ\n',
  'a: x\u2028y\n',
];

describe('fast frontmatter reader', () => {
  it('answers plain notes, exactly as the full parser does', () => {
    expect(agree(PLAIN)).toBe(PLAIN.length);
  });

  it('agrees with the full parser on odd YAML, or leaves it to it', () => {
    agree(ODD);
    for (const y of ['a: 1\na: 2\n', 'a: &x 1\nb: *x\n', 'a:\n  b: 1\n', 'a: |\n  text\n']) expect(fastFrontmatterData(y), y).toBeUndefined();
  });

  it('agrees on every note of the demo vault and the docs', () => {
    const corpus = [...notesUnder(join(ROOT, 'vault')), ...notesUnder(join(ROOT, 'docs'))];
    expect(corpus.length).toBeGreaterThan(0);
    expect(agree(corpus)).toBeGreaterThan(0);
  });

  it('agrees on 20,000 random near-miss documents', () => {
    const answered = agree(fuzz(20_000));
    expect(answered).toBeGreaterThan(1000); // it is exercised, not bailing on everything
  });

  it('frontmatterData still refuses plain frontmatter over the limits', () => {
    const keys = Array.from({ length: 1001 }, (_, i) => `k${i}: ${i}\n`).join('');
    expect(fastFrontmatterData(keys)).toBeDefined();
    expect(() => frontmatterData(splitNote(`---\n${keys}---\n`))).toThrow(/more than 1000 properties/);
    const items = `tags:\n${'  - x\n'.repeat(10_001)}`;
    expect(() => frontmatterData(splitNote(`---\n${items}---\n`))).toThrow(/more than 10000 values/);
  });

  it('frontmatterData gives the full parse’s data and errors', () => {
    for (const y of [...PLAIN, ...ODD]) {
      const split = splitNote(`---\n${y}---\n`);
      const f = full(y);
      if (f.error) expect(() => frontmatterData(split), y).toThrow(f.error);
      else expect(frontmatterData(split), y).toStrictEqual(f.data);
    }
  });
});
