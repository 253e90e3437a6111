// One service per vault. The lock names its owner; a crashed owner (dead pid on this host, or a
// heartbeat gone stale on another host) does not keep the vault locked.
import { VaultrunnerError } from '../errors.js';
import { readJson, removeFile, writeJson } from './json-file.js';
import { ownerState, sameOwner, selfOwner, type Owner } from './owner.js';

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

export async function acquireServiceLock(path: string, now: () => number = Date.now): Promise<ServiceLock> {
  const me = selfOwner();
  const make = (): LockInfo => ({ owner: me, startedAt: now(), heartbeatAt: now() });
  for (let i = 0; i < 3; i++) {
    try {
      await writeJson(path, make(), { exclusive: true });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const { info, state } = await inspectLock(path, now());
      if (state === 'held') throw new LockHeldError(info!);
      await removeFile(path); // stale: its owner is gone
    }
  }
  const mine = await readJson<LockInfo>(path);
  if (!mine || !sameOwner(mine.owner, me)) throw new LockHeldError(mine ?? make());
  const startedAt = mine.startedAt;
  return {
    heartbeat: () => writeJson(path, { owner: me, startedAt, heartbeatAt: now() }, { fsync: false }),
    release: async () => {
      const cur = await readJson<LockInfo>(path);
      if (cur && sameOwner(cur.owner, me)) await removeFile(path);
    },
  };
}
