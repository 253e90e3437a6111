// The service's periodic reconcile on a real filesystem, with no file events reaching the index:
// each pass lstat's a rotating share of the held notes, so an edit whose event was missed is found
// within `rotation` passes; a folder is listed again only when its stamp moved; scan() checks all.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { vaultPaths, type VaultPaths } from '../../src/vault/layout.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { TaskIndex } from '../../src/vault/task-index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const note = (status: string, extra = '') => `---\ntype: claude_code\nstatus: ${status}\n---\nBody.${extra}\n`;
const statusOf = (index: TaskIndex, id: string) => {
  const e = index.byId(id);
  return e?.state.kind === 'task' ? e.state.task.status : undefined;
};

async function vaultWith(n: number, opts: { rotation: number; checkAllBelow: number }): Promise<{ paths: VaultPaths; index: TaskIndex; changed: string[]; removed: string[] }> {
  dir = mkdtempSync(join(tmpdir(), 'vr-reconcile-'));
  const paths = vaultPaths(join(dir, 'vault'));
  for (const d of [paths.needsAction, paths.pendingApproval]) mkdirSync(d, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(paths.needsAction, `t${i}.md`), note('paused'));
  const index = new TaskIndex(new NoteStore({ vaultRoot: paths.root }), paths, silentLogger(), Date.now, opts);
  await index.scan();
  const changed: string[] = [];
  const removed: string[] = [];
  index.on('change', (e) => changed.push(e.id));
  index.on('remove', (e) => removed.push(e.id));
  return { paths, index, changed, removed };
}

/** Make a folder's times old, so its listing is trusted to stand (fresh ones are re-listed). */
function age(path: string): void {
  const old = new Date(Date.now() - 60_000);
  utimesSync(path, old, old);
}

/**
 * Run `fn` while this process can open no file: readdir fails with EMFILE (it opens the folder),
 * while lstat and stat, which open nothing, still work. A failure root meets too, unlike chmod 000.
 */
async function withNoFreeDescriptors<T>(fn: () => Promise<T>): Promise<T> {
  const pid = String(process.pid);
  const soft = execFileSync('prlimit', ['--pid', pid, '--nofile', '--output=SOFT', '--noheadings'], { encoding: 'utf8' }).trim();
  // Descriptors are handed out lowest first: after these, every one up to the last is taken.
  const held = Array.from({ length: 16 }, () => openSync('/dev/null', 'r'));
  execFileSync('prlimit', ['--pid', pid, `--nofile=${Math.max(...held) + 1}:`]);
  try {
    expect(() => closeSync(openSync('/dev/null', 'r'))).toThrow(/EMFILE/);
    return await fn();
  } finally {
    for (const fd of held) closeSync(fd);
    execFileSync('prlimit', ['--pid', pid, `--nofile=${soft}:`]);
  }
}

/** Until the folders' times are older than the index's RACY_MS (3 s), so it trusts their stamps. */
async function untilTrusted(...dirs: string[]): Promise<void> {
  while (dirs.some((d) => Date.now() - Math.max(statSync(d).mtimeMs, statSync(d).ctimeMs) < 3100)) await new Promise((r) => setTimeout(r, 100));
}

describe('TaskIndex.reconcile', () => {
  it('lists a folder again after its listing failed, keeps the notes it held, and says so once', { timeout: 20_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-reconcile-'));
    const paths = vaultPaths(join(dir, 'vault'));
    for (const d of [paths.needsAction, paths.pendingApproval]) mkdirSync(d, { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(paths.needsAction, `t${i}.md`), note('paused'));
    const logs: { level: number; msg: string; code?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const index = new TaskIndex(new NoteStore({ vaultRoot: paths.root }), paths, logger, Date.now, { rotation: 3, checkAllBelow: 0 });
    await index.scan();
    writeFileSync(join(paths.needsAction, 'late.md'), note('new'));
    await untilTrusted(paths.needsAction, paths.pendingApproval);

    await withNoFreeDescriptors(async () => {
      await index.reconcile();
      await index.reconcile();
    });
    expect(index.byId('late')).toBeUndefined(); // nothing could be listed
    expect(index.size).toBe(3); // and nothing held was dropped for it
    const warned = logs.filter((l) => l.level === 40);
    expect(warned.map((l) => [l.code, l.msg.includes(paths.needsAction) || l.msg.includes(paths.pendingApproval)])).toEqual([['EMFILE', true], ['EMFILE', true]]); // once a folder, not once a pass

    // The folder did not change since: only a listing that failed is listed again to find the note.
    await index.reconcile();
    expect(statusOf(index, 'late')).toBe('new');
    expect(logs.filter((l) => /can be listed again/.test(l.msg))).toHaveLength(2);
  });


  it('finds every note edited without an event within `rotation` passes, a share each pass', async () => {
    const { paths, index, changed } = await vaultWith(30, { rotation: 3, checkAllBelow: 0 });
    const passes: { full: boolean; checked: number }[] = [];
    index.on('pass', (p) => passes.push(p));
    // In place, same size (a different status of the same length): only an lstat can tell.
    for (let i = 0; i < 30; i++) writeFileSync(join(paths.needsAction, `t${i}.md`), note('failed'));
    const seenAfter: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      await index.reconcile();
      seenAfter.push(new Set(changed).size);
    }
    expect(seenAfter).toEqual([10, 20, 30]); // a third each pass, and all of them within three
    expect(passes.map((p) => p.full)).toEqual([false, false, false]);
    for (let i = 0; i < 30; i++) expect(statusOf(index, `t${i}`)).toBe('failed');
    // Nothing changed since: the next round re-reads nothing.
    for (let pass = 0; pass < 3; pass++) await index.reconcile();
    expect(changed).toHaveLength(30);
  });

  it('a full scan checks every note in one pass', async () => {
    const { paths, index, changed } = await vaultWith(30, { rotation: 3, checkAllBelow: 0 });
    const passes: { full: boolean; checked: number }[] = [];
    index.on('pass', (p) => passes.push(p));
    for (let i = 0; i < 30; i++) writeFileSync(join(paths.needsAction, `t${i}.md`), note('failed'));
    await index.scan({ quickStat: true });
    expect(new Set(changed).size).toBe(30);
    expect(passes).toEqual([{ full: true, checked: 30 }]);
  });

  it('sees a note created or removed without an event at the next pass, listing a folder only when it changed', async () => {
    const { paths, index, changed, removed } = await vaultWith(30, { rotation: 3, checkAllBelow: 0 });
    const passes: { full: boolean; checked: number }[] = [];
    index.on('pass', (p) => passes.push(p));
    age(paths.needsAction);
    age(paths.pendingApproval);
    await index.reconcile(); // lists both folders (their stamps are new to it) and trusts them now
    await index.reconcile(); // neither listed: only the notes of this turn
    expect(passes.map((p) => p.checked)).toEqual([10, 10]);
    expect([changed, removed]).toEqual([[], []]);

    writeFileSync(join(paths.needsAction, 'fresh.md'), note('new'));
    unlinkSync(join(paths.needsAction, 't4.md'));
    writeFileSync(join(paths.pendingApproval, 'asked.md'), note('awaiting_approval'));
    await index.reconcile();
    expect(changed.sort()).toEqual(['asked', 'fresh']);
    expect(removed).toEqual(['t4']);
    expect(index.size).toBe(31);
    expect(statusOf(index, 'fresh')).toBe('new');
  });

  it('checks every note each pass while there are few', async () => {
    const { paths, index, changed } = await vaultWith(12, { rotation: 3, checkAllBelow: 20 });
    for (let i = 0; i < 12; i++) writeFileSync(join(paths.needsAction, `t${i}.md`), note('failed'));
    await index.reconcile();
    expect(new Set(changed).size).toBe(12);
  });

  it('keeps the tasks of each status at hand as notes change and go', async () => {
    const { paths, index } = await vaultWith(6, { rotation: 3, checkAllBelow: 0 });
    const ids = (status: Parameters<TaskIndex['withStatus']>[0]) => index.withStatus(status).map((e) => e.id).sort();
    expect(ids('paused')).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
    writeFileSync(join(paths.needsAction, 't1.md'), note('planned', ' Longer now.'));
    writeFileSync(join(paths.needsAction, 't2.md'), note('bogus'));
    unlinkSync(join(paths.needsAction, 't3.md'));
    await index.scan({ quickStat: true });
    expect(ids('paused')).toEqual(['t0', 't4', 't5']);
    expect(ids('planned')).toEqual(['t1']);
    expect(index.byId('t2')?.state.kind).toBe('invalid'); // in no status's list
    expect(ids('executing')).toEqual([]);
  });
});
