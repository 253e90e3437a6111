// Real files in a temp dir: per-task machine state survives restarts and concurrent patches.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { TaskStateStore } from '../../src/vault/task-state.js';
import { stateFileName } from '../../src/vault/state-key.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('loses no update when patches of one task overlap', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-state-'));
  const store = new TaskStateStore(dir);
  // Twenty increments and two unrelated keys, all started in the same tick.
  await Promise.all([
    ...Array.from({ length: 20 }, () => store.patch('t', (cur) => ({ interrupted: (cur.interrupted ?? 0) + 1 }))),
    store.patch('t', { notBefore: 123 }),
    store.patch('t', { resumeSession: 'abc' }),
  ]);
  const onDisk = JSON.parse(readFileSync(join(dir, stateFileName('t')), 'utf8'));
  expect(onDisk).toEqual({ interrupted: 20, notBefore: 123, resumeSession: 'abc' });
  // A fresh store (a restarted service) reads the same.
  expect(await new TaskStateStore(dir).get('t')).toEqual(onDisk);
});

it('removes the file when the state becomes empty, and a failed patch does not block the next', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-state-'));
  const store = new TaskStateStore(dir);
  await store.patch('a b', { failures: 1 });
  const failing = store.patch('a b', () => {
    throw new Error('boom');
  });
  const after = store.patch('a b', { failures: undefined });
  await expect(failing).rejects.toThrow('boom');
  expect(await after).toEqual({});
  expect(() => readFileSync(join(dir, stateFileName('a b')))).toThrow(/ENOENT/);
});

it('prime({ load }) reads every state file at once, and get() answers from that snapshot', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-state-'));
  // Ids whose readable key prefixes collide ('a b' and 'a_b' both read 'a_b'), one with no file.
  await new TaskStateStore(dir).patch('a b', { failures: 2 });
  await new TaskStateStore(dir).patch('a_b', { notBefore: 42 });
  const store = new TaskStateStore(dir);
  await store.prime(['a b', 'a_b', 'none'], { load: true });
  // Removed behind its back: the snapshot still answers (no stat, no read), as a one-shot view should.
  rmSync(join(dir, stateFileName('a b')));
  expect(await store.get('a b')).toEqual({ failures: 2 });
  expect(await store.get('a_b')).toEqual({ notBefore: 42 });
  expect(await store.get('none')).toEqual({});
  // Without load, get() reads the disk as it is now.
  const fresh = new TaskStateStore(dir);
  await fresh.prime(['a b', 'a_b']);
  expect(await fresh.get('a b')).toEqual({});
  expect(await fresh.get('a_b')).toEqual({ notBefore: 42 });
});

it('prime() still finds state under an older version\'s file name', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-state-'));
  writeFileSync(join(dir, `${encodeURIComponent('old task')}.json`), JSON.stringify({ failures: 3 }));
  const store = new TaskStateStore(dir);
  await store.prime(['old task', 'other'], { load: true });
  expect(await store.get('old task')).toEqual({ failures: 3 });
  expect(await store.get('other')).toEqual({});
});
