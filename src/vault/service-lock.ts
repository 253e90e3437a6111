// One service per vault. The lock names its owner; a crashed owner (dead pid on this host, or a
// heartbeat gone stale on another host) does not keep the vault locked. Taking over a stale lock
// is atomic: two services starting together must never both get it (see takeOver).
import { createHash } from 'node:crypto';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VaultrunnerError } from '../errors.js';
import { readJson, removeFile, writeJson } from './json-file.js';
import { ownerState, sameOwner, selfOwner, type Owner } from './owner.js';
import { readRegularFile } from '../os/safe-open.js';

export interface LockInfo {
  owner: Owner;
  startedAt: number;
  heartbeatAt: number;
}

export class LockHeldError extends VaultrunnerError {
  constructor(readonly holder: LockInfo) {
    super(
      'LOCK_HELD',
      `another vaultrunner is already running on this vault (pid ${holder.owner.pid} on ${holder.owner.host}, started ${new Date(holder.startedAt).toISOString()}); stop it first, or run one service per vault`,
    );
  }
}

export interface ServiceLock {
  heartbeat(): Promise<void>;
  release(): Promise<void>;
}

/** Another host's lock counts as stale when its heartbeat is older than this. */
export const STALE_AFTER_MS = 2 * 60_000;

export async function inspectLock(path: string, now = Date.now()): Promise<{ info?: LockInfo; state: 'free' | 'held' | 'stale' }> {
  const info = await readJson<LockInfo>(path);
  if (!info?.owner) return { state: 'free' };
  const s = ownerState(info.owner);
  if (s === 'alive') return { info, state: 'held' };
  if (s === 'unknown' && now - info.heartbeatAt < STALE_AFTER_MS) return { info, state: 'held' };
  return { info, state: 'stale' };
}

/** Which file is at `path` now: inode and content, so a replaced lock is never mistaken for the one inspected. */
async function identify(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return undefined;
  const text = await readRegularFile(path).catch(() => undefined);
  return `${st.ino}-${createHash('sha256').update(text ?? '').digest('hex').slice(0, 16)}`;
}

interface Marker {
  owner: Owner;
  at: number;
}

/**
 * Remove the stale lock identified as `seen`, unless someone else is already doing so. Unlinking
 * by name is not conditional, so removals are serialised by a marker file named after that very
 * lock, created exclusively: only its creator may remove the lock, and only after checking that
 * the lock is still the one inspected. A marker whose creator died is passed over for the next
 * generation. Returns when the stale lock is gone or replaced (by us or by another contender).
 */
async function takeOver(path: string, seen: string, me: Owner, now: () => number): Promise<void> {
  for (let gen = 0; gen < 100; gen++) {
    const marker = `${path}.takeover-${seen}.${gen}`;
    try {
      await writeJson(marker, { owner: me, at: now() } satisfies Marker, { exclusive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const m = await readJson<Marker>(marker);
      const alive = m?.owner ? ownerState(m.owner) === 'alive' || (ownerState(m.owner) === 'unknown' && now() - m.at < STALE_AFTER_MS) : true;
      if (!alive) continue; // its creator died mid-takeover: the next generation decides
      // Another contender is taking over: wait until the stale lock is gone or its creator dies.
      for (let i = 0; i < 200 && (await identify(path)) === seen; i++) {
        const again = await readJson<Marker>(marker);
        if (again?.owner && ownerState(again.owner) === 'dead') break;
        await new Promise((r) => setTimeout(r, 10));
      }
      if ((await identify(path)) !== seen) return;
      continue;
    }
    // Ours: nobody else may remove this lock now; remove it only if it is still the stale one.
    // The marker only guards that check-and-remove; a later contender for the same (now gone)
    // lock finds its check failing, so the marker can go at once.
    try {
      if ((await identify(path)) === seen) await removeFile(path);
    } finally {
      await removeFile(marker).catch(() => undefined);
    }
    return;
  }
}

/** Markers left by contenders that died mid-takeover; only once we hold the lock (nobody takes
 *  over a live lock). */
async function removeMarkers(path: string): Promise<void> {
  const prefix = `${basename(path)}.takeover-`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => unlink(join(dirname(path), n)).catch(() => undefined)));
}

export async function acquireServiceLock(path: string, now: () => number = Date.now): Promise<ServiceLock> {
  const me = selfOwner();
  const make = (): LockInfo => ({ owner: me, startedAt: now(), heartbeatAt: now() });
  for (let i = 0; i < 20; i++) {
    try {
      await writeJson(path, make(), { exclusive: true });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const seen = await identify(path);
      if (seen === undefined) continue; // gone meanwhile: try again
      const { info, state } = await inspectLock(path, now());
      if (state === 'held') throw new LockHeldError(info!);
      // Stale (its owner is gone) or not a lock of ours at all: take it over, atomically.
      await takeOver(path, seen, me, now);
    }
  }
  const mine = await readJson<LockInfo>(path);
  if (!mine || !sameOwner(mine.owner, me)) throw new LockHeldError(mine ?? make());
  await removeMarkers(path);
  const startedAt = mine.startedAt;
  return {
    heartbeat: () => writeJson(path, { owner: me, startedAt, heartbeatAt: now() }, { fsync: false }),
    release: async () => {
      const cur = await readJson<LockInfo>(path);
      if (cur && sameOwner(cur.owner, me)) await removeFile(path);
    },
  };
}
