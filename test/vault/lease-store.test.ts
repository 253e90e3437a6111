// Real files: a run's lease is renewed on a timer while its outcome is journaled; the journal
// must survive whatever renewal was in flight (else a crash replays nothing and the task re-runs).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LeaseStore } from '../../src/vault/lease-store.js';
import { stateFileName } from '../../src/vault/state-key.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('keeps a journaled outcome whatever renewals were in flight', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-lease-'));
  const store = new LeaseStore(dir, 60_000);
  for (let round = 0; round < 20; round++) {
    const lease = (await store.acquire(`t${round}`, 1))!;
    const outcome = { ok: true as const, finishedAt: round };
    const renewals = Array.from({ length: 8 }, () => store.update(lease));
    const journal = store.update(lease, { outcome });
    const later = Array.from({ length: 3 }, () => store.update(lease));
    expect(await Promise.all([...renewals, journal, ...later])).toEqual(Array(12).fill(true));
    const onDisk = JSON.parse(readFileSync(join(dir, stateFileName(`t${round}`)), 'utf8'));
    expect(onDisk.outcome, `round ${round}`).toEqual(outcome);
  }
});

it('release removes only our own lease, after the updates before it', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-lease-'));
  const store = new LeaseStore(dir, 60_000);
  const lease = (await store.acquire('a', 1))!;
  const pending = store.update(lease, { attempt: 2 });
  await store.release(lease);
  expect(await pending).toBe(true);
  expect(await store.get('a')).toBeUndefined();
  expect(await store.acquire('a', 3)).toBeDefined();
  await store.release({ ...lease }); // someone else's token now: left alone
  expect((await store.get('a'))?.attempt).toBe(3);
});
