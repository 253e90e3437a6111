// Leases: a claim on one task's run, kept in .vaultrunner/leases/<id>.json. The executor takes one
// before it writes `executing`; it records the agent's pid and, when the run ends, its outcome, so
// a crash at any moment can be recovered without running the task twice at once.
import { randomBytes } from '../os/lazy-crypto.js';
import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { link, unlink } from '../os/quick-fs.js';
import { join } from 'node:path';
import { readJson, removeFile, writeJson } from './json-file.js';
import { ownerState, selfOwner, type Owner } from './owner.js';
import { KeyedQueue } from './keyed-queue.js';
import { stateFileName } from './state-key.js';

export interface LeaseOutcome {
  ok: boolean;
  /** Error code and one-line message when not ok. */
  code?: string;
  message?: string;
  retryable?: boolean;
  sessionId?: string;
  costUsd?: number;
  stopReason?: string;
  finishedAt: number;
}

export interface Lease {
  taskId: string;
  token: string;
  owner: Owner;
  acquiredAt: number;
  expiresAt: number;
  attempt: number;
  /** The agent process, once spawned (its own process group). */
  run?: {
    pid: number;
    pidStart?: string;
    startedAt: number;
    sessionId?: string;
    /** For a restart: the agent, its deadline, its output files' name and transcript link. */
    agent?: string;
    timeoutMs?: number;
    output?: string;
    transcript?: string;
    /** The note's body the run started from: a resumed session is told what was added since
     *  (kept in the task's state only if the run is interrupted, so a run that just finishes
     *  writes no state file). */
    bodyAtStart?: string;
    /** A remote run (QUEUE_URL): its queue job, followed again after a restart (pid is 0). */
    remote?: { id: string; agent: string };
  };
  /** Written when the run has ended, before the note is updated (a journal for crash recovery). */
  outcome?: LeaseOutcome;
}

export class LeaseStore {
  private me: Owner | undefined;
  // Who we are, on first use: a reader (`list`) never asks, and it costs node:os and two /proc reads.
  private get self(): Owner {
    return (this.me ??= selfOwner());
  }
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly dir: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private file(taskId: string): string {
    return join(this.dir, stateFileName(taskId));
  }

  /** Claim a task; undefined when a lease already exists (held, or stale awaiting the watchdog). */
  async acquire(taskId: string, attempt: number): Promise<Lease | undefined> {
    const lease: Lease = {
      taskId,
      token: randomBytes(8).toString('hex'),
      owner: this.self,
      acquiredAt: this.now(),
      expiresAt: this.now() + this.ttlMs,
      attempt,
    };
    try {
      await writeJson(this.file(taskId), lease, { exclusive: true });
      return lease;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw err;
    }
  }

  /** Whether a lease file is there now (held, or stale awaiting the watchdog): acquire() would fail. */
  exists(taskId: string): boolean {
    try {
      lstatSync(this.file(taskId));
      return true;
    } catch {
      return false;
    }
  }

  async get(taskId: string): Promise<Lease | undefined> {
    return readJson<Lease>(this.file(taskId));
  }

  /** Rewrite our lease (renewing its expiry); false when it is no longer ours. One at a time per
   *  task: a renewal in flight must not land after, and erase, the outcome journaled after it. */
  update(lease: Lease, patch: Partial<Pick<Lease, 'run' | 'outcome' | 'attempt'>> = {}): Promise<boolean> {
    return this.queue.run(lease.taskId, async () => {
      const cur = await this.get(lease.taskId);
      if (!cur || cur.token !== lease.token) return false;
      Object.assign(lease, patch, { expiresAt: this.now() + this.ttlMs });
      await writeJson(this.file(lease.taskId), lease, { fsync: patch.outcome !== undefined });
      return true;
    });
  }

  /** Take over a dead holder's lease, keeping its token (the fencing token of a remote run that
   *  goes on). Only the one service holding the vault's lock calls this; false when it changed. */
  takeOver(lease: Lease): Promise<boolean> {
    return this.queue.run(lease.taskId, async () => {
      const cur = await this.get(lease.taskId);
      if (!cur || cur.token !== lease.token) return false;
      Object.assign(lease, cur, { owner: this.self, expiresAt: this.now() + this.ttlMs });
      await writeJson(this.file(lease.taskId), lease, { fsync: true });
      return true;
    });
  }

  release(lease: Lease): Promise<void> {
    return this.queue.run(lease.taskId, async () => {
      const cur = await this.get(lease.taskId);
      if (cur && cur.token === lease.token) await removeFile(this.file(lease.taskId));
    });
  }

  /** Remove a lease regardless of holder (the watchdog, after it has dealt with the holder's run). */
  async forceRemove(taskId: string): Promise<void> {
    await removeFile(this.file(taskId));
  }

  async list(): Promise<Lease[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const files = names.filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    const leases = await Promise.all(files.map((n) => readJson<Lease>(join(this.dir, n))));
    const found: Lease[] = [];
    for (const [i, l] of leases.entries()) {
      if (typeof l?.taskId !== 'string') continue;
      // A lease under an older version's name (a run that outlived an upgrade): give it its name now.
      if (files[i] !== stateFileName(l.taskId) && !(await this.adopt(files[i]!, l.taskId))) continue;
      found.push(l);
    }
    return found;
  }

  /** Move a lease file to its task's name, never over an existing one. */
  private adopt(name: string, taskId: string): Promise<boolean> {
    return this.queue.run(taskId, async () => {
      try {
        await link(join(this.dir, name), this.file(taskId));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        return false; // the task has a lease under its own name: that one counts
      }
      await unlink(join(this.dir, name)).catch(() => undefined);
      return true;
    });
  }

  isMine(lease: Lease): boolean {
    return lease.owner.pid === this.self.pid && lease.owner.host === this.self.host && lease.owner.pidStart === this.self.pidStart;
  }

  /** A lease whose owner is gone (same host: at once) or that passed its expiry. */
  isStale(lease: Lease): boolean {
    if (this.isMine(lease)) return false;
    const s = ownerState(lease.owner);
    if (s === 'dead') return true;
    return lease.expiresAt < this.now();
  }
}
