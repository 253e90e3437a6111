// The service's periodic reconcile on a real filesystem, with no file events reaching the index:
// each pass lstat's a rotating share of the held notes, so an edit whose event was missed is found
// within `rotation` passes; a folder is listed again only when its stamp moved; scan() checks all.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('TaskIndex.reconcile', () => {
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
