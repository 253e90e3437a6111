// Watches the vault's active task folders and turns filesystem events into debounced per-path hints.
// Events are only hints: the consumer re-stats and re-reads, and its periodic scan repairs anything
// missed. One plain fs.watch per active task folder (plus one on the root, for folders that are
// created, removed or replaced), never one per note: chokidar, used before, re-read and lstat'ed the
// whole folder on every event in it, which made a burst of N notes cost O(N²) stats (20 % of the
// service's CPU at 200 notes) and kept an inotify watch per note.
// An unlink waits a little longer than other events, so whatever order the unlink and re-add of an
// editor save (vim: rename the original away, write anew) arrive in, they merge into one hint.
// An in-place change waits long enough that a save written in two slow steps is reported once,
// after its last write.
import { readdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import { classifyPath, isIgnoredForWatch } from './ignore-rules.js';
import { TASK_FOLDERS } from './layout.js';

export interface VaultWatcherOptions {
  root: string;
  /** Quiet time per path before reporting it; a burst of events on one path is one call. Changes
   *  wait at least 60 ms and unlinks at least 100 ms; a note that appears 5 ms, or none when it was
   *  renamed in whole (appearDelay). */
  debounceMs?: number;
  /** A task note was added, changed or removed (re-stat it to find out which). */
  onNote(absPath: string): void;
  /** A sync-conflict copy appeared, changed or went away in a task folder; report, never process. */
  onConflict(absPath: string): void;
  /** Events may have been lost (task folder removed/created, watcher error): rescan the vault. */
  onRescan(reason: string): void;
  logger?: Pick<Logger, 'debug' | 'warn'>;
}

export interface VaultWatcher {
  /** Resolves once events are being delivered. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** The task folders the watcher watches (Done/ and Plans/ are left alone; ignore-rules says why). */
export function watchedFolders(root: string): string[] {
  return TASK_FOLDERS.filter((f) => !isIgnoredForWatch(root, join(root, f), true));
}

/** inotify watches the service holds: one per watched task folder plus one on the vault root. */
export function inotifyWatchesNeeded(root: string): number {
  return 1 + watchedFolders(root).length;
}

/** How long an unlink waits for the same path to reappear (vim and other backup-rename saves). */
const UNLINK_GRACE_MS = 100;
/** How long an in-place change waits for the next write of the same save. */
const CHANGE_SETTLE_MS = 60;
/** A note that appears (created, or renamed in) waits this long for the writes that may follow;
 *  an in-place creation's first write is a change and so waits CHANGE_SETTLE_MS after all. */
const APPEAR_MS = 5;

/**
 * How long a file that just appeared waits before it is reported. One whose inode changed after
 * its last write (ctime > mtime: renamed or linked in after it was written, as an atomic save, a
 * sync tool, `mv` or our CLI do) is complete: reported at once. One still being written in place
 * has ctime == mtime (every write sets both) and gets the short wait, or, while still empty (created,
 * its first write yet to come: on a loaded machine that can be well over APPEAR_MS), the wait of an
 * in-place change, so an empty note is not reported just before its content. Timestamps come from
 * the kernel's coarse clock, so a file renamed within one tick of its last write also waits.
 */
export function appearDelay(st: Pick<Stats, 'ctimeMs' | 'mtimeMs' | 'isFile' | 'size'>, debounceMs: number): number {
  if (st.isFile() && st.ctimeMs > st.mtimeMs) return 0;
  return st.isFile() && st.size === 0 ? Math.max(debounceMs, CHANGE_SETTLE_MS) : Math.min(debounceMs, APPEAR_MS);
}

const RESCAN_KEY = '\0rescan';

/** Identity of a directory (after symlinks), to notice one removed and created again. */
function dirId(path: string): string | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

function statOrNull(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export function createVaultWatcher(opts: VaultWatcherOptions): VaultWatcher {
  const root = resolve(opts.root);
  const debounceMs = opts.debounceMs ?? 25;
  const log = opts.logger;
  const timers = new Map<string, { cancel: () => void; delay: number }>();
  const rescanReasons = new Set<string>();
  const folders = new Map<string, { id: string; fsw: FSWatcher }>();
  // Done/ and Plans/ are left alone (ignore-rules says why): only the active folders are watched.
  const active = watchedFolders(root);
  let closed = false;

  // A pending hint keeps the longest wait any of its events asked for (an unlink's grace is not
  // cut short by the re-add that follows it).
  const schedule = (key: string, delay: number, fn: () => void): void => {
    const prev = timers.get(key);
    if (prev) prev.cancel();
    const wait = Math.max(delay, prev?.delay ?? 0);
    const fire = () => {
      timers.delete(key);
      if (closed) return;
      try {
        fn();
      } catch (err) {
        log?.warn({ component: 'watcher', err }, 'watcher callback threw');
      }
    };
    // No wait: after this turn's other events (a timer of 0 ms would wait a whole millisecond).
    if (wait === 0) {
      const im = setImmediate(fire);
      timers.set(key, { cancel: () => clearImmediate(im), delay: 0 });
    } else {
      const timer = setTimeout(fire, wait);
      timers.set(key, { cancel: () => clearTimeout(timer), delay: wait });
    }
  };

  const hint = (path: string, delay: number): void => {
    const cls = classifyPath(root, path);
    if (cls.kind === 'ignored') return;
    const cb = cls.kind === 'conflict-copy' ? opts.onConflict : opts.onNote;
    schedule(path, delay, () => cb(path));
  };

  const rescan = (reason: string): void => {
    log?.debug({ component: 'watcher', reason }, 'rescan needed');
    rescanReasons.add(reason);
    schedule(RESCAN_KEY, debounceMs, () => {
      const all = [...rescanReasons].join('; ');
      rescanReasons.clear();
      opts.onRescan(all);
    });
  };

  const onFolderEvent = (folder: string, type: string, name: string | Buffer | null): void => {
    if (closed) return;
    if (name === null) return rescan(`events in ${folder} may have been lost`);
    const path = join(root, folder, String(name));
    if (classifyPath(root, path).kind === 'ignored') return; // our own temp files: no stat for them
    if (type === 'change') return hint(path, Math.max(debounceMs, CHANGE_SETTLE_MS));
    // 'rename' is any of created, deleted, moved in or out: the file's presence tells which.
    const st = statOrNull(path);
    if (!st) return hint(path, Math.max(debounceMs, UNLINK_GRACE_MS));
    hint(path, timers.has(path) ? debounceMs : appearDelay(st, debounceMs));
  };

  const unwatch = (folder: string): void => {
    folders.get(folder)?.fsw.close();
    folders.delete(folder);
  };

  const watchFolder = (folder: string, id: string): boolean => {
    const dir = join(root, folder);
    try {
      const fsw = watch(dir, { persistent: true }, (type, name) => onFolderEvent(folder, type, name));
      fsw.on('error', (err) => {
        log?.warn({ component: 'watcher', err }, `file watcher error: ${err.message}`);
        if (folders.get(folder)?.fsw === fsw) unwatch(folder);
        rescan(`watcher error: ${err.message}`);
        syncFolders();
      });
      folders.set(folder, { id, fsw });
      return true;
    } catch (err) {
      log?.warn({ component: 'watcher', err }, `cannot watch ${dir}: ${(err as Error).message}`);
      return false;
    }
  };

  /** Bring the folder watches in line with the disk; a new or replaced folder's notes are hinted. */
  const syncFolders = (): void => {
    if (closed) return;
    for (const folder of active) {
      const id = dirId(join(root, folder));
      const cur = folders.get(folder);
      if (cur && cur.id === id) continue;
      if (cur) {
        unwatch(folder);
        if (!id) rescan(`task folder ${folder} removed`);
      }
      if (!id || !watchFolder(folder, id)) continue;
      rescan(`task folder ${folder} created`);
      try {
        for (const name of readdirSync(join(root, folder))) hint(join(root, folder, name), debounceMs);
      } catch {
        /* gone again: the next root event deals with it */
      }
    }
  };

  for (const folder of active) {
    const id = dirId(join(root, folder));
    if (id) watchFolder(folder, id);
  }
  let rootWatcher: FSWatcher | undefined;
  try {
    rootWatcher = watch(root, { persistent: true }, (_type, name) => {
      if (name === null || (active as readonly string[]).includes(String(name))) syncFolders();
    });
    rootWatcher.on('error', (err) => {
      log?.warn({ component: 'watcher', err }, `file watcher error: ${err.message}`);
      rescan(`watcher error: ${err.message}`);
    });
  } catch (err) {
    log?.warn({ component: 'watcher', err }, `cannot watch ${root}: ${(err as Error).message}`);
  }

  return {
    ready: Promise.resolve(),
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers.values()) t.cancel();
      timers.clear();
      rootWatcher?.close();
      for (const f of [...folders.keys()]) unwatch(f);
    },
  };
}
