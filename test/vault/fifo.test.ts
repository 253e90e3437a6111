// A FIFO planted where the service reads state (a lease, a task's state, the lock) must never
// block it: reads open with O_NONBLOCK and refuse anything but a regular file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStateStore } from '../../src/lifecycle/task-state.js';
import { LeaseStore } from '../../src/vault/lease-store.js';
import { inspectLock } from '../../src/vault/service-lock.js';
import { createHarness, waitFor, type Harness } from '../helpers/vault-harness.js';

const mkfifo = (path: string) => execFileSync('mkfifo', [path]);
let dir: string | undefined;
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  h = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('FIFOs in the state folder', () => {
  it('a FIFO lease is skipped by list(), and does not block acquiring other tasks', { timeout: 10_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-fifo-'));
    const leases = join(dir, '.vaultrunner', 'leases');
    mkdirSync(leases, { recursive: true });
    mkfifo(join(leases, 'evil.json'));
    const store = new LeaseStore(leases, 60_000);
    expect(await store.list()).toEqual([]);
    await store.acquire('real', 1);
    expect((await store.list()).map((l) => l.taskId)).toEqual(['real']);
  });

  it('a FIFO service.lock or task state reads as foreign, at once', { timeout: 10_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-fifo-'));
    mkfifo(join(dir, 'service.lock'));
    expect(await inspectLock(join(dir, 'service.lock'))).toEqual({ state: 'free' });
  });

  it('the service starts with a FIFO lease and runs tasks', { timeout: 20_000 }, async () => {
    h = createHarness();
    mkdirSync(join(h.vault, '.vaultrunner', 'leases'), { recursive: true });
    mkfifo(join(h.vault, '.vaultrunner', 'leases', 'evil.json'));
    await h.start();
    h.drop('after-fifo', 'type: claude_code\nstatus: planned');
    await waitFor(() => h!.find('after-fifo')?.folder === 'Done', 'task filed in Done');
  });
});

it('task state: a FIFO in place of a state file is no state', { timeout: 10_000 }, async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-fifo-'));
  const states = new TaskStateStore(dir);
  await states.patch('a', { failures: 1 }); // the file name of 'a', whatever the naming scheme
  const [name] = (await import('node:fs')).readdirSync(dir);
  rmSync(join(dir, name!));
  mkfifo(join(dir, name!));
  expect(await new TaskStateStore(dir).get('a')).toEqual({});
});
