// Real files in a temp dir: per-task machine state survives restarts and concurrent patches.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
