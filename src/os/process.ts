// Process and process-group primitives (Linux /proc where it helps): liveness that survives pid
// reuse, group signalling with a grace period, and finding a run's processes by an env marker.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readToEnd } from './read-to-end.js';

/**
 * Fields 3… of /proc/<pid>/stat (Linux), so [0] is the state, [2] the process group, [19] the
 * start time; undefined without /proc or once the process is gone.
 */
function statFields(pid: number | 'self', root = '/proc'): string[] | undefined {
  try {
    const stat = readFileSync(`${root}/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parens; fields after the last ')' are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Numeric entries of /proc (every pid), or none where there is no /proc. */
function procPids(root = '/proc'): number[] {
  try {
    return readdirSync(root).filter((e) => /^\d+$/.test(e)).map(Number);
  } catch {
    return [];
  }
}

/** Start time of a pid in clock ticks since boot (Linux /proc), to tell a pid from a reused one. */
export function processStartTime(pid: number, root?: string): string | undefined {
  return statFields(pid, root)?.[19];
}

export function isAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  // Without /proc we cannot tell reuse apart; trust the pid.
  return now === undefined || now === startTime;
}

export function isZombie(pid: number): boolean {
  return statFields(pid)?.[0] === 'Z';
}

/** Is any process of group `pgid` still there? */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Does group `pgid` still run anything? Unlike groupAlive, a group holding only zombies (an
 *  orphan's, where PID 1 does not reap them) counts as gone. */
export function groupRunning(pgid: number): boolean {
  return groupAlive(pgid) && !onlyZombies(pgid);
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    try {
      process.kill(pgid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the group, wait up to `graceMs`, then SIGKILL it. Resolves once no process of the
 * group is left (or after a bounded wait if the kernel is slow to reap).
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<'exited' | 'killed'> {
  if (!groupAlive(pgid)) return 'exited';
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(25);
    if (!groupAlive(pgid) || onlyZombies(pgid)) return 'exited';
  }
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 200 && groupAlive(pgid) && !onlyZombies(pgid); i++) await sleep(10);
  return 'killed';
}

/** A group whose leader is a zombie awaiting our wait() still answers kill(-pgid, 0). */
function onlyZombies(pgid: number): boolean {
  // The leader may already be reaped while a zombie grandchild still holds the group id.
  return (isZombie(pgid) || !isAlive(pgid)) && !otherGroupMembers(pgid);
}

function otherGroupMembers(pgid: number): boolean {
  // Any non-zombie process whose pgrp is pgid.
  if (!existsSync('/proc')) return true;
  return procPids().some((pid) => {
    if (pid === pgid) return false;
    const f = statFields(pid);
    return f !== undefined && Number(f[2]) === pgid && f[0] !== 'Z';
  });
}

/** The environment variable that marks every process of one run (value: the run's lease token). */
export const RUN_MARKER_ENV = 'VAULTRUNNER_RUN';

export interface EnvScanOptions {
  /** Where the process folders are (default /proc; tests give a folder of their own). */
  root?: string;
  /** Pids not to read (a process whose environment could not be read in time before). */
  skip?: ReadonlySet<number>;
  /** Environments read by earlier scans (the scanner process keeps one; see EnvCache). */
  cache?: EnvCache;
  /** A read this long after the process's folder appeared is kept (default ENV_SETTLED_MS). */
  settledMs?: number;
}

/**
 * Environments read by earlier scans, by pid. A process's /proc folder keeps one inode number for
 * as long as it lives, and a new process under a reused pid gets a new one (the kernel hands out
 * each number once), so one stat of the folder tells whether an environment read before is still
 * that process's: a scan reads only the processes new since the last. An environment changes only
 * at exec; the one that matters is a child we just forked reading as its parent's until it execs,
 * so a read is kept only when made a second or more after the folder appeared (which is never
 * before the process started): by then the exec is long done.
 */
export type EnvCache = Map<number, { ino: number; ctimeMs: number; environ: Buffer | undefined }>;

/** A read this long after the process's folder appeared is kept (see EnvCache). */
export const ENV_SETTLED_MS = 1000;

/**
 * Process groups holding a process whose environment has `name=value` (Linux /proc; elsewhere
 * none). Finds a run's agent when its pid never reached the lease (a crash right after spawn).
 * Each read waits for that process's memory-map lock, which can block for as long as the process
 * is stuck: the service runs this in its scanner process (proc-scan/), never on its own thread.
 */
export function groupsWithEnv(name: string, value: string, opts: EnvScanOptions = {}): number[] {
  const root = opts.root ?? '/proc';
  const want = Buffer.from(`${name}=${value}`);
  const own = Number(statFields('self')?.[2]);
  const groups = new Set<number>();
  const pids = procPids(root);
  for (const pid of pids) {
    if (pid === process.pid || opts.skip?.has(pid)) continue;
    // Readable only for our own processes, which is all we may signal anyway. Searched as bytes:
    // decoding and splitting every process's environment at every run's end was most of its cost.
    const environ = opts.cache ? cachedEnviron(opts.cache, root, pid, opts.settledMs ?? ENV_SETTLED_MS) : readEnviron(root, pid);
    if (!environ || !hasEntry(environ, want)) continue;
    const pgid = Number(statFields(pid, root)?.[2]);
    if (pgid > 0 && pgid !== own) groups.add(pgid);
  }
  if (opts.cache) {
    const live = new Set(pids);
    for (const pid of opts.cache.keys()) if (!live.has(pid)) opts.cache.delete(pid);
  }
  return [...groups];
}

/** A process's environment (a view valid until the next read), or undefined: exited, or not ours. */
function readEnviron(root: string, pid: number): Buffer | undefined {
  try {
    return readProcFile(`${root}/${pid}/environ`);
  } catch {
    return undefined;
  }
}

function cachedEnviron(cache: EnvCache, root: string, pid: number, settledMs: number): Buffer | undefined {
  let ino: number;
  let ctimeMs: number;
  try {
    ({ ino, ctimeMs } = statSync(`${root}/${pid}`));
  } catch {
    cache.delete(pid);
    return undefined; // exited meanwhile
  }
  const hit = cache.get(pid);
  if (hit && hit.ino === ino && hit.ctimeMs === ctimeMs) return hit.environ;
  const read = Date.now();
  const environ = readEnviron(root, pid);
  if (read - ctimeMs >= settledMs) cache.set(pid, { ino, ctimeMs, environ: environ && Buffer.from(environ) });
  else cache.delete(pid);
  return environ;
}

const scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * A /proc file's bytes, in a view valid until the next call. readFileSync sizes a /proc file
 * (which stats as empty) with a fresh 64 KB buffer each time: at every run's end that was one per
 * process on the machine (most of the service's Buffer allocation in the throughput bench).
 */
function readProcFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    return readToEnd(fd, scratch);
  } finally {
    closeSync(fd);
  }
}

/** Does a NUL-separated environment block hold exactly this `NAME=value` entry? */
export function hasEntry(environ: Buffer, entry: Buffer): boolean {
  for (let i = environ.indexOf(entry); i >= 0; i = environ.indexOf(entry, i + 1)) {
    const end = i + entry.length;
    if ((i === 0 || environ[i - 1] === 0) && (end === environ.length || environ[end] === 0)) return true;
  }
  return false;
}
