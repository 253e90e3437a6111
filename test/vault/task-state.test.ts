// Real files in a temp dir: per-task machine state survives restarts and concurrent patches.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  // The file names its task (prime() matches files to ids by it); the state does not carry it.
  expect(onDisk).toEqual({ task: 't', interrupted: 20, notBefore: 123, resumeSession: 'abc' });
  // A fresh store (a restarted service) reads the same.
  expect(await new TaskStateStore(dir).get('t')).toEqual({ interrupted: 20, notBefore: 123, resumeSession: 'abc' });
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

it("get() adopts state under an older version's name that was there when the store first looked", async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-state-'));
  writeFileSync(join(dir, `${encodeURIComponent('old task')}.json`), JSON.stringify({ failures: 3 }));
  const store = new TaskStateStore(dir);
  expect(await store.get('new task')).toEqual({}); // the first look lists the folder
  expect(await store.get('old task')).toEqual({ failures: 3 });
  expect(existsSync(join(dir, stateFileName('old task')))).toBe(true); // under the bounded name now
  expect(existsSync(join(dir, `${encodeURIComponent('old task')}.json`))).toBe(false);
  // Only older versions wrote such names, so one that was not there at the first look is not looked for.
  writeFileSync(join(dir, `${encodeURIComponent('late')}.json`), JSON.stringify({ failures: 1 }));
  expect(await store.get('late')).toEqual({});
  // A store that starts afresh lists again and adopts it.
  expect(await new TaskStateStore(dir).get('late')).toEqual({ failures: 1 });
});

it('prime({ load }) matches files to ids by the task they name, and older unnamed files by their hashed name', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-state-'));
  // 'a b' and 'a_b' share the readable prefix 'a_b'; 'a b' has a file that names it.
  await new TaskStateStore(dir).patch('a b', { failures: 2 });
  // An older file (no task named in it) under the hashed name of 'a-c'.
  writeFileSync(join(dir, stateFileName('a-c')), JSON.stringify({ notBefore: 7 }));
  // A file under 'x' prefix naming a task that is not asked about (a deleted note's leftovers).
  writeFileSync(join(dir, stateFileName('x y')), JSON.stringify({ task: 'x y', failures: 9 }));
  const store = new TaskStateStore(dir);
  await store.prime(['a b', 'a_b', 'a-c', 'x_y'], { load: true });
  expect(await store.get('a b')).toEqual({ failures: 2 });
  expect(await store.get('a_b')).toEqual({}); // its prefix has a file, but that file names 'a b'
  expect(await store.get('a-c')).toEqual({ notBefore: 7 }); // unnamed: found by its hashed name
  expect(await store.get('x_y')).toEqual({}); // 'x y' is not 'x_y'
  // A file that is not an object is no state (and no crash).
  writeFileSync(join(dir, stateFileName('n')), '42');
  const other = new TaskStateStore(dir);
  await other.prime(['n'], { load: true });
  expect(await other.get('n')).toEqual({});
});
