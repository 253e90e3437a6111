// Real filesystem, real fs.watch. Each editor-style save must reach onNote exactly once, for the
// final .md path, with the final content on disk by the time onNote runs.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NoteStore } from '../../src/vault/note-store.js';
import { appearDelay, createVaultWatcher, type VaultWatcher } from '../../src/vault/watcher.js';

interface Call {
  kind: 'note' | 'conflict' | 'rescan';
  arg: string;
  /** File content when the callback ran (null if the file did not exist). */
  text: string | null;
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

let root: string;
let na: string;
let calls: Call[];
let watcher: VaultWatcher | undefined;

const readOrNull = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};
const notesFor = (p: string) => calls.filter((c) => c.kind === 'note' && c.arg === p);
const rescans = () => calls.filter((c) => c.kind === 'rescan');

/** Wait until no callback has fired for `ms` (longer than every debounce the watcher uses). */
async function settle(ms = 350): Promise<void> {
  for (;;) {
    const n = calls.length;
    await sleep(ms);
    if (calls.length === n) return;
  }
}

async function start(): Promise<void> {
  watcher = createVaultWatcher({
    root,
    debounceMs: 25,
    onNote: (p) => calls.push({ kind: 'note', arg: p, text: readOrNull(p), at: Date.now() }),
    onConflict: (p) => calls.push({ kind: 'conflict', arg: p, text: readOrNull(p), at: Date.now() }),
    onRescan: (reason) => calls.push({ kind: 'rescan', arg: reason, text: null, at: Date.now() }),
  });
  await watcher.ready;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vr-watch-'));
  for (const d of ['Needs_Action', 'Plans', 'Done', 'Pending_Approval', 'Logs', 'Templates', '.obsidian', '.vaultrunner/leases']) {
    await mkdir(join(root, d), { recursive: true });
  }
  na = join(root, 'Needs_Action');
  for (const n of ['a', 'b', 'c', 'd']) await writeFile(join(na, `${n}.md`), `---\nstatus: new\n---\n${n}\n`);
  calls = [];
  await start();
});

afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  await rm(root, { recursive: true, force: true });
});

/** Run an editor save on `file`, then require exactly one onNote(file) seeing `expected`. */
async function expectOneNote(file: string, expected: string, save: () => Promise<void>): Promise<void> {
  await save();
  await waitUntil(() => notesFor(file).length > 0, `onNote(${file})`);
  await settle();
  expect(notesFor(file)).toHaveLength(1);
  expect(notesFor(file)[0]!.text).toBe(expected);
  expect(calls.filter((c) => c.arg !== file)).toEqual([]);
}

describe('editor-style saves reach onNote once, for the final path', () => {
  it('a note created empty and written a little later (a loaded machine) is reported once, with its content', async () => {
    const f = join(na, 'late.md');
    await expectOneNote(f, 'late\n', async () => {
      const fh = await open(f, 'w');
      await sleep(15); // longer than the 5 ms a note written in place gets, shorter than an in-place change's wait
      await fh.write('late\n');
      await fh.close();
    });
  });

  it('in-place write (open, truncate, write)', async () => {
    const f = join(na, 'a.md');
    await expectOneNote(f, 'in place\n', async () => {
      const fh = await open(f, 'r+');
      await fh.truncate(0);
      await fh.write('in place\n');
      await fh.close();
    });
  });

  it('in-place write in two slow steps: onNote runs after the last write', async () => {
    // Two writes 30 ms apart are one save; the watcher must not report before the second lands.
    const f = join(na, 'a.md');
    await expectOneNote(f, 'second step\n', async () => {
      const fh = await open(f, 'r+');
      await fh.truncate(0);
      await sleep(30);
      await fh.write('second step\n');
      await fh.close();
    });
  });

  it('temp file + rename over the note', async () => {
    const f = join(na, 'b.md');
    await expectOneNote(f, 'renamed in\n', async () => {
      await writeFile(join(na, '.b.md.tmp'), 'renamed in\n');
      await rename(join(na, '.b.md.tmp'), f);
    });
  });

  it('a note written earlier and then renamed in (a drop, a sync tool) is reported once, complete', async () => {
    const f = join(root, 'Needs_Action', 'dropped.md');
    const staged = join(root, 'staged.md');
    await writeFile(staged, 'dropped in\n');
    const old = new Date(Date.now() - 60_000);
    await utimes(staged, old, old); // its last write well before the rename: ctime > mtime
    await expectOneNote(f, 'dropped in\n', () => rename(staged, f));
  });

  it('vim-style save: original renamed to a backup, new file written, backup deleted', async () => {
    const f = join(na, 'c.md');
    await expectOneNote(f, 'vim wrote\n', async () => {
      await rename(f, `${f}~`);
      await writeFile(f, 'vim wrote\n');
      await unlink(`${f}~`);
    });
  });

  it('Obsidian-style save (writeFile)', async () => {
    const f = join(na, 'd.md');
    await expectOneNote(f, 'obsidian\n', () => writeFile(f, 'obsidian\n'));
  });

  it("our own NoteStore.replace (dot temp file + rename) is one change of the note", async () => {
    const f = join(na, 'a.md');
    const store = new NoteStore();
    await expectOneNote(f, '---\nstatus: planned\n---\na\n', async () => {
      await store.update(f, () => ({ status: 'planned' }));
    });
  });

  it('a burst of writes on one path is one call', async () => {
    const f = join(na, 'a.md');
    await expectOneNote(f, 'write 9\n', async () => {
      for (let i = 0; i < 10; i++) await writeFile(f, `write ${i}\n`);
    });
  });

  it('a new note and a deleted note are both reported (unlink too)', async () => {
    const created = join(root, 'Pending_Approval', 'new.md');
    await expectOneNote(created, 'new\n', () => writeFile(created, 'new\n'));
    calls.length = 0;
    const gone = join(na, 'd.md');
    await unlink(gone);
    await waitUntil(() => notesFor(gone).length > 0, 'onNote for the deleted note');
    await settle();
    expect(notesFor(gone)).toHaveLength(1);
    expect(notesFor(gone)[0]!.text).toBeNull();
  });
});

describe('appearDelay: how long a file that just appeared waits', () => {
  const stat = (ctimeMs: number, mtimeMs: number, file = true, size = 10) => ({ ctimeMs, mtimeMs, isFile: () => file, size });
  it('renamed in after its last write (ctime > mtime): at once, even empty', () => {
    expect(appearDelay(stat(1000.5, 900), 25)).toBe(0);
    expect(appearDelay(stat(1000.5, 900, true, 0), 25)).toBe(0);
  });
  it('still being written in place (ctime == mtime): the short wait', () => {
    expect(appearDelay(stat(1000, 1000), 25)).toBe(5);
    expect(appearDelay(stat(1000, 1000), 2)).toBe(2);
  });
  it('created and still empty (its first write to come): the wait of an in-place change', () => {
    expect(appearDelay(stat(1000, 1000, true, 0), 25)).toBe(60);
  });
  it('not a regular file: the short wait', () => {
    expect(appearDelay(stat(1000, 900, false), 25)).toBe(5);
  });
});

describe('filtering', () => {
  it('ignored paths never reach onNote', async () => {
    await writeFile(join(root, '.obsidian', 'x.md'), 'x');
    await writeFile(join(root, 'Logs', 'a.md'), 'x');
    await writeFile(join(root, 'Templates', 't.md'), 'x');
    await writeFile(join(root, 'Dashboard.md'), 'x');
    await writeFile(join(na, '.hidden.md'), 'x');
    await writeFile(join(na, 'a.md.swp'), 'x');
    await writeFile(join(na, '4913'), 'x');
    await writeFile(join(na, 'image.png'), 'x');
    await writeFile(join(root, '.vaultrunner', 'leases', 'x.json'), '{}');
    await mkdir(join(na, 'sub'));
    await writeFile(join(na, 'sub', 'deep.md'), 'x');
    await writeFile(join(root, '.obsidian', 'x.md'), 'again');
    await unlink(join(na, 'a.md.swp'));
    // Done/ and Plans/ are not watched at all (their events drive nothing; they can be huge).
    await writeFile(join(root, 'Done', 'filed.md'), 'x');
    await writeFile(join(root, 'Plans', 'PLAN_x.md'), 'x');
    // A sentinel written last: once it is seen, earlier events have been delivered too.
    const sentinel = join(root, 'Pending_Approval', 'sentinel.md');
    await writeFile(sentinel, 'done\n');
    await waitUntil(() => notesFor(sentinel).length > 0, 'sentinel');
    await settle();
    expect(calls.map((c) => [c.kind, c.arg])).toEqual([['note', sentinel]]);
  });

  it('a Syncthing conflict copy reaches onConflict, not onNote', async () => {
    const conflict = join(na, 'x.sync-conflict-20240101-123456-ABCDEF.md');
    // As Syncthing makes it: written under a temp name, then renamed into place (a plain create
    // and write are two events, which a loaded machine can deliver far enough apart for two hints).
    const tmp = join(na, '.syncthing.x.sync-conflict-20240101-123456-ABCDEF.md.tmp');
    await writeFile(tmp, '---\nstatus: new\n---\n');
    await rename(tmp, conflict);
    await waitUntil(() => calls.some((c) => c.kind === 'conflict'), 'onConflict');
    await settle();
    expect(calls.map((c) => [c.kind, c.arg])).toEqual([['conflict', conflict]]);
  });
});

describe('task folders', () => {
  it('triggers onRescan, and writes in the recreated folder are still seen', async () => {
    await rm(na, { recursive: true });
    await waitUntil(() => rescans().some((c) => c.arg.includes('removed')), 'rescan after removal');
    // The notes inside were unlinked: those are hints too (the consumer finds them gone).
    await waitUntil(() => notesFor(join(na, 'a.md')).length > 0, 'unlink hint for a.md');
    await settle();
    calls.length = 0;

    await mkdir(na);
    await waitUntil(() => rescans().some((c) => c.arg.includes('created')), 'rescan after re-creation');
    await settle();
    calls.length = 0;

    const f = join(na, 'after.md');
    await expectOneNote(f, 'after\n', () => writeFile(f, 'after\n'));
    calls.length = 0;
    await expectOneNote(f, 'edited\n', () => writeFile(f, 'edited\n'));
  });

  it('survives delete, re-create and write in quick succession', async () => {
    await rm(na, { recursive: true });
    await mkdir(na);
    const f = join(na, 'quick.md');
    await writeFile(f, 'quick\n');
    await waitUntil(() => notesFor(f).length > 0, 'note in the recreated folder');
    await waitUntil(() => rescans().length > 0, 'rescan');
    await settle();
    calls.length = 0;
    await expectOneNote(f, 'later\n', () => writeFile(f, 'later\n'));
  });

  it('a task folder missing at start is picked up when created', async () => {
    await watcher!.close();
    await rm(join(root, 'Pending_Approval'), { recursive: true });
    calls = [];
    await start();
    const plans = join(root, 'Pending_Approval');
    await mkdir(plans);
    await waitUntil(() => rescans().some((c) => c.arg.includes('Pending_Approval')), 'rescan for Pending_Approval');
    await settle();
    calls.length = 0;
    const f = join(plans, 'p.md');
    // Arriving whole (temp file, then rename): a create and a write that a loaded machine spreads
    // over more than the debounce are two saves, which is not what this test is about.
    await expectOneNote(f, 'plan\n', async () => {
      await writeFile(join(plans, '.p.md.tmp'), 'plan\n');
      await rename(join(plans, '.p.md.tmp'), f);
    });
  });

  it('a task folder that is a symlink is watched too', async () => {
    await watcher!.close();
    const elsewhere = await mkdtemp(join(tmpdir(), 'vr-watch-elsewhere-'));
    try {
      await rm(join(root, 'Pending_Approval'), { recursive: true });
      await symlink(elsewhere, join(root, 'Pending_Approval'));
      calls = [];
      await start();
      const f = join(root, 'Pending_Approval', 'linked.md');
      await expectOneNote(f, 'linked\n', () => writeFile(join(elsewhere, 'linked.md'), 'linked\n'));
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('creating other folders does not trigger a rescan', async () => {
    await mkdir(join(root, 'Attachments'));
    await mkdir(join(root, 'Logs', 'runs'));
    await mkdir(join(root, '.trash'));
    const sentinel = join(na, 'sentinel.md');
    await writeFile(sentinel, 's');
    await waitUntil(() => notesFor(sentinel).length > 0, 'sentinel');
    await settle();
    expect(rescans()).toEqual([]);
  });
});

describe('lifecycle', () => {
  it('close() stops all callbacks, including pending debounced ones', async () => {
    await writeFile(join(na, 'a.md'), 'pending');
    await watcher!.close();
    await writeFile(join(na, 'b.md'), 'after close');
    await sleep(300);
    expect(calls).toEqual([]);
    await watcher!.close(); // idempotent
  });
});
