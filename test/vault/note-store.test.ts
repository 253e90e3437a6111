// NoteStore against a real temp filesystem: unreadable notes are never rewritten, writes are atomic
// compare-and-swap, moves never overwrite.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempTag } from '../../src/os/temp-tag.js';
import { NoteChangedError, NoteGoneError, NoteParseError } from '../../src/errors.js';
import { NoteStore, type NoteSnapshot } from '../../src/vault/note-store.js';

let root: string;
let na: string;
let done: string;
let writes: Array<[string, string | undefined, string | undefined]>;
let store: NoteStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vr-store-'));
  na = join(root, 'Needs_Action');
  done = join(root, 'Done');
  await mkdir(na);
  await mkdir(done);
  writes = [];
  store = new NoteStore({ onWrite: (p, t, to) => writes.push([p, t, to]) });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Our temp files (`.<name>.vr-<hex>.tmp`) left anywhere in the vault. */
async function leftovers(): Promise<string[]> {
  const all = [...(await readdir(na)), ...(await readdir(done))];
  return all.filter((n) => /\.vr-[0-9a-f]+\.tmp$/.test(n));
}

async function note(name: string, text: string | Buffer, dir = na): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

const NOTE = '---\ntype: code\nstatus: new # person\n---\n# Task\n\nDo it.\n';

describe('unreadable notes: ok:false with a clear reason, and never rewritten', () => {
  const marker = () => join(root, 'pwned');
  const cases: Array<[string, () => string | Buffer, RegExp]> = [
    ['broken YAML', () => '---\ntype: code\nstatus: [unclosed\n---\nbody\n', /YAML error on frontmatter line \d+/],
    ['binary (NUL bytes)', () => Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0x00, 0x01, 0x02, 0x0a, 0x2d, 0x2d, 0x2d, 0x0a]), /binary file \(contains NUL bytes\)/],
    ['invalid UTF-8', () => Buffer.concat([Buffer.from('---\nstatus: new\ntitle: '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\n---\n')]), /not valid UTF-8/],
    ['empty file', () => '', /empty note/],
    ['whitespace only', () => '\n  \n', /empty note/],
    ['no frontmatter', () => '# Just a heading\n', /no frontmatter/],
    ['unclosed frontmatter', () => '---\nstatus: new\n', /no closing "---"/],
    ['duplicate keys', () => '---\nstatus: new\nstatus: done\n---\n', /unique/],
    ['---js frontmatter', () => `---js\n{ status: (require('fs').writeFileSync(${JSON.stringify(marker())}, 'x'), globalThis.__vrPwned = 1, 'new') }\n---\n`, /language 'js' is not supported/],
    ['---javascript frontmatter', () => `---javascript\n{ status: (require('fs').writeFileSync(${JSON.stringify(marker())}, 'x'), 'new') }\n---\n`, /language 'javascript' is not supported/],
  ];

  it.each(cases)('%s', async (_label, content, reason) => {
    const p = await note('bad.md', content());
    const before = await readFile(p);
    const st0 = await stat(p);

    const r = await store.read(p);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(NoteParseError);
    expect(r.error.code).toBe('NOTE_PARSE');
    expect(r.error.file).toBe(p);
    expect(r.error.message).toMatch(reason);

    let decided = 0;
    await expect(store.update(p, () => (decided++, { status: 'planned' }))).rejects.toBeInstanceOf(NoteParseError);
    expect(decided).toBe(0);

    expect((await readFile(p)).equals(before)).toBe(true);
    const st1 = await stat(p);
    expect([st1.ino, st1.mtimeMs, st1.size]).toEqual([st0.ino, st0.mtimeMs, st0.size]);
    expect(await leftovers()).toEqual([]);
    expect(writes).toEqual([]);
    expect(existsSync(marker())).toBe(false);
    expect((globalThis as Record<string, unknown>).__vrPwned).toBeUndefined();
  });

  it('a missing note is NoteGoneError, not ok:false', async () => {
    await expect(store.read(join(na, 'nope.md'))).rejects.toBeInstanceOf(NoteGoneError);
    await expect(store.update(join(na, 'nope.md'), () => ({ status: 'x' }))).rejects.toBeInstanceOf(NoteGoneError);
  });
});

describe('update()', () => {
  it('a name near the 255-byte limit (80 CJK characters) can be updated and filed: one note, in one folder', async () => {
    const name = `${'修'.repeat(80)}.md`; // 243 bytes: a temp name with the whole of it would not fit
    const p = await note(name, NOTE);
    const r = await store.update(p, () => ({ status: 'done' }));
    expect(r?.note.text).toBe(NOTE.replace('status: new', 'status: done'));
    const target = await store.move(p, done);
    expect(target).toBe(join(done, name));
    expect(await readdir(na)).toEqual([]);
    expect(await readdir(done)).toEqual([name]);
    expect(await leftovers()).toEqual([]);
  });

  it('edits only the value, keeps BOM and CRLF, leaves no temp files, reports the write', async () => {
    const text = '\uFEFF---\r\ntype: code\r\nstatus: new # person\r\n---\r\nBody\r\n';
    const p = await note('a.md', text);
    const r = await store.update(p, (data) => (data.status === 'new' ? { status: 'planned' } : null));
    const expected = text.replace('status: new', 'status: planned');
    expect(r?.note.text).toBe(expected);
    expect(await readFile(p)).toEqual(Buffer.from(expected, 'utf8'));
    expect(await leftovers()).toEqual([]);
    expect(writes).toEqual([[p, expected, undefined]]);
    const again = await store.read(p);
    expect(again.ok && again.data.status).toBe('planned');
  });

  it('a note moved away the moment the write lands: the write stands, and its snapshot matches no file', async () => {
    const p = await note('a.md', NOTE);
    const moved = join(done, 'a.md');
    // Someone reacts to the write at once (the service filing a note `approve` just approved).
    const racing = new NoteStore({ onWrite: (path) => path === p && renameSync(p, moved) });
    const r = await racing.update(p, () => ({ status: 'planned' }));
    expect(r?.edits).toEqual({ status: 'planned' });
    expect(await readFile(moved, 'utf8')).toBe(NOTE.replace('status: new', 'status: planned'));
    expect(existsSync(p)).toBe(false);
    // A compare against that snapshot finds the note gone instead of trusting a stale stamp.
    await expect(racing.replace(p, 'x', r!.note)).rejects.toBeInstanceOf(NoteGoneError);
    expect(await leftovers()).toEqual([]);
  });

  it('a note created and moved away at once: the create stands, its snapshot matches no file', async () => {
    const p = join(na, 'new.md');
    const moved = join(done, 'new.md');
    const racing = new NoteStore({ onWrite: (path) => path === p && renameSync(p, moved) });
    const snap = await racing.create(p, NOTE);
    expect(await readFile(moved, 'utf8')).toBe(NOTE);
    await expect(racing.replace(p, 'x', snap)).rejects.toBeInstanceOf(NoteGoneError);
    expect(await leftovers()).toEqual([]);
  });

  it('decide() returning null writes nothing', async () => {
    const p = await note('a.md', NOTE);
    const st0 = await stat(p);
    expect(await store.update(p, () => null)).toBeNull();
    expect(await readFile(p, 'utf8')).toBe(NOTE);
    expect((await stat(p)).mtimeMs).toBe(st0.mtimeMs);
    expect(writes).toEqual([]);
  });

  it('an edit that changes nothing does not write', async () => {
    const p = await note('a.md', NOTE);
    const st0 = await stat(p);
    const r = await store.update(p, () => ({ status: 'new' }));
    expect(r?.note.text).toBe(NOTE);
    expect((await stat(p)).ino).toBe(st0.ino);
    expect(writes).toEqual([]);
  });

  it.each([0o600, 0o640, 0o664, 0o755])('keeps file mode %o', async (mode) => {
    const p = await note('a.md', NOTE);
    await chmod(p, mode);
    await store.update(p, () => ({ status: 'planned' }));
    expect((await stat(p)).mode & 0o777).toBe(mode);
  });

  it('keeps a mode changed between our read and our write', async () => {
    const p = await note('a.md', NOTE);
    const before = await store.snapshot(p);
    await chmod(p, 0o600); // the text is the same, only the permissions changed
    const written = await store.replace(p, NOTE.replace('Do it.', 'Do it now.'), before);
    expect(written).not.toBeNull();
    expect((await stat(p)).mode & 0o777).toBe(0o600);
  });

  it('is atomic: a concurrent reader only ever sees a whole old or whole new note', async () => {
    const p = await note('a.md', NOTE);
    const seen = new Set<string>();
    const names = new Set<string>();
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const text = await readFile(p, 'utf8'); // ENOENT here would fail the test
        seen.add(/status: (\w+)/.exec(text)?.[1] ?? `partial:${text.length}`);
        for (const n of await readdir(na)) names.add(n);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 60; i++) await store.update(p, () => ({ status: i % 2 ? 'planned' : 'executing' }));
    stop = true;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect([...seen].every((s) => ['new', 'planned', 'executing'].includes(s))).toBe(true);
    // Under the final name there is only the note; temp files are dot-files with our suffix.
    expect([...names].filter((n) => n !== 'a.md').every((n) => /^\.a\.md\.vr-[0-9a-f]{8}\.tmp$/.test(n))).toBe(true);
    expect(await leftovers()).toEqual([]);
  });

  it('names temp files with 8 hex digits that do not repeat within a process', () => {
    const tags = Array.from({ length: 100_000 }, () => tempTag());
    expect(tags.every((t) => /^[0-9a-f]{8}$/.test(t))).toBe(true);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it('re-applies the edit when a person edits between our read and our write', async () => {
    const p = await note('a.md', NOTE);
    const personal = NOTE.replace('type: code\n', 'type: code\npriority: high\n').replace('Do it.', 'Do it today.');
    const seen: Array<Record<string, unknown>> = [];
    const r = await store.update(p, (data) => {
      seen.push(data);
      if (seen.length === 1) writeFileSync(p, personal); // the person saves while we work (decide is sync)
      return { status: 'planned' };
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.priority).toBe('high'); // decide() ran again on the person's version
    const final = await readFile(p, 'utf8');
    expect(final).toBe(personal.replace('status: new', 'status: planned'));
    expect(r?.note.text).toBe(final);
    expect(writes).toHaveLength(1);
    expect(await leftovers()).toEqual([]);
  });

  it('gives up with NoteChangedError (retryable) when the note keeps changing; the person wins', async () => {
    const p = await note('a.md', NOTE);
    let n = 0;
    const err = await store
      .update(p, () => {
        writeFileSync(p, NOTE.replace('Do it.', `edit ${++n}`));
        return { status: 'planned' };
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoteChangedError);
    expect((err as NoteChangedError).retryable).toBe(true);
    expect(await readFile(p, 'utf8')).toBe(NOTE.replace('Do it.', `edit ${n}`));
    expect(writes).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });

  // Fails until update()/applyEdits refuse edits that splicing cannot express (see the report):
  // today the appended line turns a flow-mapping frontmatter into YAML that no longer parses.
  it('refuses (NoteParseError) rather than write frontmatter it could not read back', async () => {
    const text = '---\n{type: code, status: new}\n---\nbody\n';
    const p = await note('flow.md', text);
    expect((await store.read(p)).ok).toBe(true);
    await expect(store.update(p, () => ({ started_at: '2024-01-15T10:30:00' }))).rejects.toBeInstanceOf(NoteParseError);
    expect(await readFile(p, 'utf8')).toBe(text);
    expect(writes).toEqual([]);
  });
});

describe('replace() compare-and-swap', () => {
  it('returns null and keeps the person’s edit when the note changed since the snapshot', async () => {
    const p = await note('a.md', NOTE);
    const stale = await store.snapshot(p);
    const personal = NOTE.replace('Do it.', 'Person was here.');
    await writeFile(p, personal);
    expect(await store.replace(p, NOTE.replace('new', 'planned'), stale)).toBeNull();
    expect(await readFile(p, 'utf8')).toBe(personal);
    expect(await leftovers()).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('writes when the note was only touched (same bytes, new mtime)', async () => {
    const p = await note('a.md', NOTE);
    const snap = await store.snapshot(p);
    await utimes(p, new Date(), new Date(Date.now() + 5000));
    const next = NOTE.replace('status: new', 'status: planned');
    const written = await store.replace(p, next, snap);
    expect(written?.text).toBe(next);
    expect(await readFile(p, 'utf8')).toBe(next);
  });

  it('NoteGoneError when the note was deleted in between; no temp file left', async () => {
    const p = await note('a.md', NOTE);
    const snap = await store.snapshot(p);
    await rm(p);
    await expect(store.replace(p, NOTE, snap)).rejects.toBeInstanceOf(NoteGoneError);
    expect(existsSync(p)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it('with `after`, renames only once that write is done; the temp file is written meanwhile', async () => {
    const p = await note('a.md', NOTE);
    const snap = await store.snapshot(p);
    let release!: () => void;
    const after = new Promise<void>((r) => (release = r));
    const next = NOTE.replace('status: new', 'status: planned');
    const writing = store.replace(p, next, snap, after);
    // The temp file is there (written and synced) while the note is still the old one.
    for (let i = 0; i < 500 && (await leftovers()).length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(await leftovers()).toHaveLength(1);
    expect(await readFile(p, 'utf8')).toBe(NOTE);
    release();
    expect((await writing)?.text).toBe(next);
    expect(await readFile(p, 'utf8')).toBe(next);
    expect(await leftovers()).toEqual([]);
  });

  it('with `after` failing, the note is left as it was and the failure is the write\'s', async () => {
    const p = await note('a.md', NOTE);
    const snap = await store.snapshot(p);
    const boom = Object.assign(new Error('plan note not written'), { code: 'EIO' });
    const failed = Promise.reject(boom);
    failed.catch(() => undefined); // (a caller watches its own write: so does the orchestrator)
    await expect(store.replace(p, NOTE.replace('status: new', 'status: planned'), snap, failed)).rejects.toBe(boom);
    expect(await readFile(p, 'utf8')).toBe(NOTE);
    expect(await leftovers()).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('with no expected snapshot, refuses to overwrite an existing note', async () => {
    const p = await note('a.md', NOTE);
    await expect(store.replace(p, 'other', null)).rejects.toMatchObject({ code: 'NOTE_CHANGED' });
    expect(await readFile(p, 'utf8')).toBe(NOTE);
    expect(await leftovers()).toEqual([]);
  });
});

describe('move()', () => {
  it('moves a note, byte-identical, and reports it', async () => {
    const bytes = Buffer.from(`\uFEFF${NOTE.replace(/\n/g, '\r\n')}`);
    const p = await note('a.md', bytes);
    const target = await store.move(p, done);
    expect(target).toBe(join(done, 'a.md'));
    expect(existsSync(p)).toBe(false);
    expect((await readFile(target)).equals(bytes)).toBe(true);
    expect(writes).toEqual([[p, undefined, target]]);
  });

  it('finishes a move cut short after its link (kill -9) instead of filing a second copy', async () => {
    const p = await note('a.md', NOTE);
    await link(p, join(done, 'a.md')); // what a crash between the link and the rename leaves
    const target = await store.move(p, done);
    expect(target).toBe(join(done, 'a.md'));
    expect(existsSync(p)).toBe(false);
    expect((await readdir(done)).filter((n) => !n.startsWith('.'))).toEqual(['a.md']);
    expect(await readFile(target, 'utf8')).toBe(NOTE);
  });

  it('never overwrites: a taken name becomes "name (2).md", then "(3)"', async () => {
    const existing = await note('a.md', 'already filed\n', done);
    const first = Buffer.from(NOTE);
    const p = await note('a.md', first);
    const target = await store.move(p, done);
    expect(target).toBe(join(done, 'a (2).md'));
    expect(await readFile(existing, 'utf8')).toBe('already filed\n');
    expect((await readFile(target)).equals(first)).toBe(true);

    const second = Buffer.from(NOTE.replace('new', 'done'));
    const p2 = await note('a.md', second);
    expect(await store.move(p2, done)).toBe(join(done, 'a (3).md'));
    expect((await readFile(join(done, 'a (3).md'))).equals(second)).toBe(true);
    expect(await readFile(existing, 'utf8')).toBe('already filed\n');
    expect((await readdir(na)).filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });

  it('carries an edit made between our read and the move', async () => {
    const p = await note('a.md', NOTE);
    const snap: NoteSnapshot = await store.snapshot(p);
    const edited = NOTE.replace('Do it.', 'Edited after our read.');
    await writeFile(p, edited);
    expect(snap.text).toBe(NOTE);
    const target = await store.move(p, done);
    expect(await readFile(target, 'utf8')).toBe(edited);
  });

  // A save by rename (temp file, then rename over the name: vim, VS Code) landing on one of the two
  // names in the gap between the move's link and its taking of the source.
  const saveOver = (path: string, text: string) => {
    writeFileSync(`${path}.save.tmp`, text);
    renameSync(`${path}.save.tmp`, path);
  };
  const files = async (dir: string) => (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();

  // The save on the filed note is a person editing it as it appears; the one on the source came
  // after our link, so it is newer than what was linked. Either way the save is what Done/ holds.
  it.each([
    ['the filed note (it stays)', (_source: string, target: string) => target],
    ['the source (it is the version filed)', (source: string) => source],
  ])('keeps a save that lands on %s right after the link', async (_which, onto) => {
    const p = await note('a.md', NOTE);
    const theirs = NOTE.replace('Do it.', 'Saved while it was being filed.');
    const racing = new NoteStore({ afterLink: (source, target) => saveOver(onto(source, target), theirs) });
    const target = await racing.move(p, done);
    expect(target).toBe(join(done, 'a.md'));
    expect(await readFile(target, 'utf8')).toBe(theirs);
    expect(await files(done)).toEqual(['a.md']);
    expect(existsSync(p)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it('keeps both when a save lands on each name: the source\'s is filed as "name (2).md"', async () => {
    const p = await note('a.md', NOTE);
    const inDone = NOTE.replace('Do it.', 'Edited in Done/.');
    const inSource = NOTE.replace('Do it.', 'Saved in Needs_Action/.');
    const warned: unknown[][] = [];
    const racing = new NoteStore({
      afterLink: (source, target) => {
        saveOver(target, inDone);
        saveOver(source, inSource);
      },
      logger: { warn: (...args: unknown[]) => void warned.push(args) },
    });
    const target = await racing.move(p, done);
    expect(await readFile(target, 'utf8')).toBe(inDone);
    expect(await files(done)).toEqual(['a (2).md', 'a.md']);
    expect(await readFile(join(done, 'a (2).md'), 'utf8')).toBe(inSource);
    // The log says where the second version went (a person looking for their save finds it).
    expect(warned).toHaveLength(1);
    expect(warned[0]![0]).toMatchObject({ file: p, dest: target, copy: join(done, 'a (2).md') });
    expect(warned[0]![1]).toMatch(/both versions kept.* as a \(2\)\.md$/);
    expect(existsSync(p)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it('NoteGoneError for a note that no longer exists', async () => {
    await expect(store.move(join(na, 'gone.md'), done)).rejects.toBeInstanceOf(NoteGoneError);
    expect(writes).toEqual([]);
  });
});

describe('create()', () => {
  it('creates a note and reports it', async () => {
    const p = join(na, 'new.md');
    const snap = await store.create(p, NOTE);
    expect(snap.text).toBe(NOTE);
    expect(await readFile(p, 'utf8')).toBe(NOTE);
    expect(writes).toEqual([[p, NOTE, undefined]]);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses an existing name and leaves it untouched', async () => {
    const p = await note('a.md', 'mine\n');
    await expect(store.create(p, NOTE)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(p, 'utf8')).toBe('mine\n');
    expect(writes).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });
});
