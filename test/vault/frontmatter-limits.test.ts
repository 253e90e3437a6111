// One note must never stall or kill the service: frontmatter over the size, value, property or
// nesting bounds is refused as an invalid note before `yaml` sees it. Notes are real files read
// through the NoteStore, as the service reads them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRONTMATTER_LIMITS, frontmatterOverLimit } from '../../src/vault/frontmatter-limits.js';
import { applyEdits } from '../../src/vault/frontmatter.js';
import { NoteStore } from '../../src/vault/note-store.js';

let dir: string;
const store = new NoteStore();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vr-limits-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readNote(name: string, frontmatter: string): Promise<{ ok: boolean; reason?: string; data?: Record<string, unknown> }> {
  const path = join(dir, name);
  await writeFile(path, `---\ntype: claude_code\n${frontmatter}---\nBody\n`);
  const r = await store.read(path);
  return r.ok ? { ok: true, data: r.data } : { ok: false, reason: r.error.message };
}

describe('a note that would cost too much to parse is refused before parsing', () => {
  // Without the bound: 14 MB of flow list ran the service out of heap after ~50 s.
  it('a 14 MB flow list of millions of items', { timeout: 30_000 }, async () => {
    const r = await readNote('flow.md', `items: [${'1,'.repeat(7_000_000)}1]\n`);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^frontmatter is 14\d{6} bytes, more than the 131072 allowed; it was not parsed/);
  });

  // Without the bound and the linear duplicate check: ~2 minutes of a blocked event loop.
  it('a 1 MB note with 100,000 keys', { timeout: 30_000 }, async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `key_${i}: ${i}`).join('\n');
    const r = await readNote('keys.md', `${keys}\n`);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/more than the 131072 allowed/);
  });

  it('too many properties within the byte bound', async () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `k${i}: 1`).join('\n');
    const r = await readNote('many-keys.md', `${keys}\n`);
    expect(r).toEqual({ ok: false, reason: `frontmatter has more than ${FRONTMATTER_LIMITS.maxKeys} properties; it was not parsed` });
  });

  it('too many values within the byte bound (flow list, block list, flow map)', async () => {
    const flow = await readNote('many-flow.md', `tags: [${Array(30_000).fill('a').join(',')}]\n`);
    const block = await readNote('many-block.md', `tags:\n${Array(12_000).fill('  - a').join('\n')}\n`);
    const map = await readNote('many-map.md', `m: {${Array.from({ length: 12_000 }, (_, i) => `k${i}: 1`).join(', ')}}\n`);
    for (const r of [flow, block, map]) expect(r).toEqual({ ok: false, reason: `frontmatter has more than ${FRONTMATTER_LIMITS.maxNodes} values; it was not parsed` });
  });

  it('nesting deeper than the bound, flow or block', async () => {
    const flow = await readNote('deep-flow.md', `x: ${'['.repeat(40)}1${']'.repeat(40)}\n`);
    const block = await readNote('deep-block.md', `${Array.from({ length: 40 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} 1\n`);
    const dashes = await readNote('deep-dashes.md', `x:\n${'- '.repeat(40)}1\n`);
    for (const r of [flow, block, dashes]) expect(r).toEqual({ ok: false, reason: `frontmatter is nested more than ${FRONTMATTER_LIMITS.maxDepth} levels deep; it was not parsed` });
  });

  it('an apostrophe in a plain value does not hide what follows from the count', () => {
    const text = `a: don't\nb: [${Array(12_000).fill('1').join(',')}]\n`;
    expect(frontmatterOverLimit(text)).toMatch(/more than 10000 values/);
  });
});

describe('real notes stay well within the bounds', () => {
  it('a thousand properties, long lists and a long block text parse', async () => {
    const keys = Array.from({ length: FRONTMATTER_LIMITS.maxKeys - 1 }, (_, i) => `k${i}: v`).join('\n');
    expect((await readNote('max-keys.md', `${keys}\n`)).ok).toBe(true);
    const tags = await readNote('tags.md', `tags: [${Array.from({ length: 500 }, (_, i) => `t${i}`).join(', ')}]\nlist:\n${Array(500).fill('  - x').join('\n')}\n`);
    expect(tags.ok).toBe(true);
    // Prose full of "key: value" and commas inside a block scalar is text, not YAML nodes.
    const prose = Array(1500).fill('  Note: a, b, c, d, e, f: g - h [i] {j} - k').join('\n');
    const r = await readNote('prose.md', `description: |\n${prose}\nstatus: new\n`);
    expect(r.ok).toBe(true);
    expect(r.data?.status).toBe('new');
    const nested = await readNote('nested.md', `a:\n  b:\n    c:\n      - - [1, {d: [2, 3]}]\n`);
    expect(nested.data?.a).toEqual({ b: { c: [[[1, { d: [2, 3] }]]] } });
  });

  it('duplicate keys are still found, in nested maps too, with their line', async () => {
    const top = await readNote('dup-top.md', `${Array.from({ length: 900 }, (_, i) => `k${i}: 1`).join('\n')}\nk17: 2\n`);
    expect(top.reason).toBe('YAML error on frontmatter line 902: Map keys must be unique ("k17" appears twice)');
    const nested = await readNote('dup-nested.md', `m:\n  a: 1\n  b: 2\n  a: 3\n`);
    expect(nested.reason).toMatch(/line 5: Map keys must be unique \("a"/);
    // A number and a string that read alike are different keys, as yaml has them.
    expect((await readNote('not-dup.md', `1: a\n"1": b\n`)).ok).toBe(true);
  });

  it('an edit refuses a note over the bounds instead of rewriting it', () => {
    const text = `---\nstatus: new\nitems: [${Array(20_000).fill('1').join(',')}]\n---\n`;
    expect(() => applyEdits(text, { status: 'planned' })).toThrow(/more than 10000 values/);
  });
});

describe('YAML anchors on the keys the service edits', () => {
  it('a value with an anchor that another key reuses is not edited: clear error, note unchanged', async () => {
    const path = join(dir, 'anchor.md');
    const text = '---\ntype: claude_code\nstatus: &s new\nother: *s\n---\nBody\n';
    await writeFile(path, text);
    const err = await store.update(path, () => ({ status: 'planned' })).catch((e: unknown) => e);
    expect((err as Error).message).toBe("'status' carries the YAML anchor &s, which other properties can reuse (*s); vaultrunner does not edit it. Remove the anchor from 'status' (write the value out where it is reused)");
    expect((err as { code?: string }).code).toBe('NOTE_PARSE');
    const r = await store.read(path);
    expect(r.ok && r.note.text).toBe(text);
    expect(r.ok && r.data.other).toBe('new');
    expect(() => applyEdits(text, { status: undefined })).toThrow(/carries the YAML anchor &s/);
  });

  it('a key that reads through an alias is edited, and the anchored key keeps its value', async () => {
    const path = join(dir, 'alias.md');
    await writeFile(path, '---\ntype: claude_code\nbase: &b new\nstatus: *b\n---\n');
    await store.update(path, () => ({ status: 'planned' }));
    const r = await store.read(path);
    expect(r.ok && r.data).toEqual({ type: 'claude_code', base: 'new', status: 'planned' });
  });

  it('an anchor and alias elsewhere are untouched by an edit of another key', () => {
    // A nested anchor reused at the top: editing the top-level key would change `copy`.
    const text = '---\nstatus: new\nm:\n  inner: &i 1\ncopy: *i\n---\n';
    expect(applyEdits(text, { status: 'planned' })).toBe(text.replace('status: new', 'status: planned'));
  });
});
