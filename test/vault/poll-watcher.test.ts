// Real filesystem, real chokidar in polling mode (what WATCH_MODE=poll uses where a filesystem
// sends no change events): notes, conflict copies and task folders are reported; the rest is not.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createPollingWatcher } from '../../src/vault/poll-watcher.js';
import type { VaultWatcher } from '../../src/vault/watcher.js';
import { waitFor } from '../helpers/vault-harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let root: string;
let watcher: VaultWatcher | undefined;
/** Each callback, with whether the file existed when it ran. */
let calls: { kind: string; arg: string; exists?: boolean }[];
const waitUntil = (cond: () => boolean, what: string) => waitFor(cond, `${what}; calls: ${JSON.stringify(calls)}`, 5000, 20);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vr-poll-'));
  for (const f of ['Needs_Action', 'Pending_Approval', 'Done', 'Plans']) await mkdir(join(root, f));
  calls = [];
  watcher = createPollingWatcher({
    root,
    intervalMs: 50,
    onNote: (p) => calls.push({ kind: 'note', arg: p, exists: existsSync(p) }),
    onConflict: (p) => calls.push({ kind: 'conflict', arg: p, exists: existsSync(p) }),
    onRescan: (r) => calls.push({ kind: 'rescan', arg: r }),
  });
  await watcher.ready;
});
afterEach(async () => {
  await watcher?.close();
  await rm(root, { recursive: true, force: true });
});

it('reports added, changed and removed notes, and conflict copies apart', async () => {
  const note = join(root, 'Needs_Action', 'a task.md');
  await writeFile(note, '---\ntype: x\n---\n');
  await waitUntil(() => calls.some((c) => c.kind === 'note' && c.arg === note && c.exists), 'add');
  const n = calls.length;
  await sleep(120); // mtime granularity: make the change visible to stat
  await writeFile(note, '---\ntype: x\nstatus: paused\n---\nmore\n');
  await waitUntil(() => calls.slice(n).some((c) => c.kind === 'note' && c.arg === note && c.exists), 'change');
  const m = calls.length;
  await unlink(note);
  await waitUntil(() => calls.slice(m).some((c) => c.kind === 'note' && c.arg === note && c.exists === false), 'unlink');
  const copy = join(root, 'Pending_Approval', 'a task.sync-conflict-20260101-120000-ABCDEFG.md');
  await writeFile(copy, 'x');
  await waitUntil(() => calls.some((c) => c.kind === 'conflict' && c.arg === copy), 'conflict copy');
  expect(calls.filter((c) => c.arg === copy).every((c) => c.kind === 'conflict')).toBe(true);
});

it('leaves Done/, Plans/, temp files and other folders alone', async () => {
  await writeFile(join(root, 'Done', 'old.md'), 'x');
  await writeFile(join(root, 'Plans', 'PLAN_x.md'), 'x');
  await writeFile(join(root, 'Needs_Action', '.a.md.swp'), 'x');
  await writeFile(join(root, 'Needs_Action', 'notes.txt'), 'x');
  await mkdir(join(root, 'Elsewhere'));
  await writeFile(join(root, 'Elsewhere', 'n.md'), 'x');
  // A real note last: once it is reported, the others have had their polls too.
  const marker = join(root, 'Needs_Action', 'marker.md');
  await sleep(200);
  await writeFile(marker, 'x');
  await waitUntil(() => calls.some((c) => c.arg === marker), 'marker');
  await sleep(200);
  expect(calls).toEqual([{ kind: 'note', arg: marker, exists: true }]);
});

it('asks for a rescan when a task folder is replaced, and keeps watching the new one', async () => {
  await rename(join(root, 'Needs_Action'), join(root, 'Old'));
  await waitUntil(() => calls.some((c) => c.kind === 'rescan'), 'rescan on removal');
  await mkdir(join(root, 'Needs_Action'));
  const note = join(root, 'Needs_Action', 'b.md');
  await writeFile(note, 'x');
  await waitUntil(() => calls.some((c) => c.kind === 'note' && c.arg === note && c.exists), 'note in the new folder');
});

it('calls nothing after close()', async () => {
  await watcher!.close();
  await writeFile(join(root, 'Needs_Action', 'late.md'), 'x');
  await sleep(300);
  expect(calls).toEqual([]);
});
