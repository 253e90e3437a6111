// The index's two ways of reading every note, on a real filesystem: the service's (async, one
// lstat then a read) and the one-shot CLI's (blocking, the open file's own stat). Both must see
// the same entries for every kind of file a task folder can hold.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { vaultPaths } from '../../src/vault/layout.js';
import { MAX_NOTE_BYTES, NoteStore } from '../../src/vault/note-store.js';
import { TaskIndex, type IndexEntry } from '../../src/vault/task-index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function summary(e: IndexEntry) {
  const s = e.state;
  return { id: e.id, folder: e.folder, kind: s.kind, status: s.kind === 'task' ? s.task.status : s.kind === 'invalid' ? s.status : s.reason.replace(/\/.*\//, '…/'), hash: e.hash, body: s.kind === 'task' ? s.body : undefined };
}

describe('TaskIndex.scan', () => {
  it('finds the same entries blocking and not, for notes, links, FIFOs, huge, binary and invalid files', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-scan-'));
    const paths = vaultPaths(join(dir, 'vault'));
    for (const d of [paths.needsAction, paths.pendingApproval, paths.done]) mkdirSync(d, { recursive: true });
    writeFileSync(join(paths.needsAction, 'plain.md'), '---\ntype: claude_code\nstatus: planned\n---\nDo it.\n');
    writeFileSync(join(paths.pendingApproval, 'waiting.md'), '---\ntype: shell\nstatus: awaiting_approval\n---\n');
    writeFileSync(join(paths.needsAction, 'invalid.md'), '---\ntype: claude_code\nstatus: bogus\n---\n');
    writeFileSync(join(paths.needsAction, 'binary.md'), Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0x00, 0x01]));
    writeFileSync(join(dir, 'outside.md'), '---\ntype: claude_code\n---\n');
    symlinkSync(join(dir, 'outside.md'), join(paths.needsAction, 'linked.md'));
    symlinkSync(join(dir, 'nowhere.md'), join(paths.needsAction, 'dangling.md'));
    execFileSync('mkfifo', [join(paths.needsAction, 'pipe.md')]);
    writeFileSync(join(paths.needsAction, 'huge.md'), Buffer.alloc(MAX_NOTE_BYTES + 1, 0x61));
    // Bytes the one-shot read's decoder would replace, a real U+FFFD, a byte-order mark, nothing.
    writeFileSync(join(paths.needsAction, 'latin1.md'), Buffer.concat([Buffer.from('---\ntype: claude_code\n---\nCaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    writeFileSync(join(paths.needsAction, 'replacement.md'), '---\ntype: claude_code\nstatus: paused\n---\nA \uFFFD here.\n');
    writeFileSync(join(paths.needsAction, 'bom.md'), '\uFEFF---\ntype: claude_code\nstatus: planned\n---\nBody.\n');
    writeFileSync(join(paths.needsAction, 'empty.md'), '');
    mkdirSync(join(paths.needsAction, 'folder.md'));
    // Bigger than the blocking reader's scratch buffer.
    writeFileSync(join(paths.needsAction, 'long.md'), `---\ntype: claude_code\nstatus: new\n---\n${'x'.repeat(200_000)}\n`);

    const stamps = new Map<string, Record<string, number | undefined>>();
    const scanned = async (opts: { blocking?: boolean; oneShot?: boolean }) => {
      const index = new TaskIndex(new NoteStore({ vaultRoot: paths.root }), paths, silentLogger());
      await index.scan(opts);
      const key = JSON.stringify(opts);
      for (const e of index.entries()) stamps.set(`${key} ${e.id}`, { ...e.stamp, mode: undefined });
      return index.entries().map(summary).sort((a, b) => a.id.localeCompare(b.id));
    };
    // The service's first scan (blocking), its later ones (async) and a CLI command's (one-shot).
    const blocking = await scanned({ blocking: true, oneShot: true });
    expect(blocking).toEqual(await scanned({}));
    expect(blocking).toEqual(await scanned({ blocking: true }));
    // The service's two reads stamp each note alike (a later reconcile compares these stamps).
    for (const e of blocking) expect(stamps.get(`{"blocking":true} ${e.id}`), e.id).toEqual(stamps.get(`{} ${e.id}`));
    const byId = Object.fromEntries(blocking.map((e) => [e.id, e]));
    expect(Object.keys(byId).sort()).toEqual(['binary', 'bom', 'dangling', 'empty', 'huge', 'invalid', 'latin1', 'linked', 'long', 'plain', 'replacement', 'waiting']);
    expect(byId.latin1).toMatchObject({ kind: 'unreadable', status: expect.stringMatching(/UTF-8/) });
    expect(byId.replacement).toMatchObject({ kind: 'task', status: 'paused', body: 'A \uFFFD here.\n' });
    expect(byId.bom).toMatchObject({ kind: 'task', status: 'planned' });
    expect(byId.empty).toMatchObject({ kind: 'unreadable', status: expect.stringMatching(/empty/) });
    expect(byId.plain).toMatchObject({ kind: 'task', status: 'planned', folder: 'Needs_Action' });
    expect(byId.waiting).toMatchObject({ kind: 'task', status: 'awaiting_approval', folder: 'Pending_Approval' });
    expect(byId.long).toMatchObject({ kind: 'task', status: 'new' });
    expect(byId.invalid).toMatchObject({ kind: 'invalid' });
    for (const id of ['binary', 'dangling', 'huge', 'linked']) expect(byId[id]!.kind, id).toBe('unreadable');
    expect(byId.linked!.status).toMatch(/symbolic link/);
    expect(byId.huge!.status).toMatch(/larger than/);
  });

  it('a quick-stat reconcile sees edits, new and removed notes, and re-reads nothing unchanged', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-scan-'));
    const paths = vaultPaths(join(dir, 'vault'));
    for (const d of [paths.needsAction, paths.pendingApproval]) mkdirSync(d, { recursive: true });
    const note = (status: string) => `---\ntype: claude_code\nstatus: ${status}\n---\nBody.\n`;
    for (let i = 0; i < 1200; i++) writeFileSync(join(paths.needsAction, `t${i}.md`), note('paused'));
    const store = new NoteStore({ vaultRoot: paths.root });
    const index = new TaskIndex(store, paths, silentLogger());
    await index.scan();
    const changed: string[] = [];
    const removed: string[] = [];
    index.on('change', (e) => changed.push(e.id));
    index.on('remove', (e) => removed.push(e.id));
    await index.scan({ quickStat: true });
    expect([changed, removed]).toEqual([[], []]);

    // No events reach the index: only the reconcile can notice these.
    writeFileSync(join(paths.needsAction, 't7.md'), note('planned')); // in place, same size
    writeFileSync(join(paths.needsAction, 'fresh.md'), note('new'));
    unlinkSync(join(paths.needsAction, 't9.md'));
    await index.scan({ quickStat: true });
    expect(changed.sort()).toEqual(['fresh', 't7']);
    expect(removed).toEqual(['t9']);
    const t7 = index.byId('t7')!;
    expect(t7.state.kind === 'task' && t7.state.task.status).toBe('planned');
    expect(index.size).toBe(1200);
  });
});
