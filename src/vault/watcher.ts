// Watches the vault's task folders and turns filesystem events into debounced per-path hints.
// Events are only hints: the consumer re-stats and re-reads, and its periodic scan repairs anything
// missed. Chokidar runs with `atomic: false`: its atomic mode holds every unlink for 100 ms and was
// seen emitting a stale `unlink` 100 ms after a vim-style save (rename original away, write anew),
// a second report outside any debounce window. Instead an unlink waits a little longer than other
// events, so whatever order the unlink and re-add of an editor save arrive in, they merge.
// Chokidar also drops any `change` within 50 ms of the previous one on the same path (leading-edge
// throttle, no trailing event), so a change waits longer than that before we report it: by then
// every dropped write has happened and the consumer's read sees it.
import { watch } from 'chokidar';
import { relative, resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import { classifyPath, isIgnoredForWatch, shouldDescend } from './ignore-rules.js';

export interface VaultWatcherOptions {
  root: string;
  /** Quiet time per path before reporting it; a burst of events on one path is one call. Changes
   *  wait at least 60 ms and unlinks at least 100 ms (see above). */
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
  /** Resolves once the initial tree has been read and events are being delivered. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** How long an unlink waits for the same path to reappear (vim and other backup-rename saves). */
const UNLINK_GRACE_MS = 100;
/** Longer than chokidar's 50 ms per-path `change` throttle, whose suppressed events never arrive. */
const CHANGE_SETTLE_MS = 60;
const RESCAN_KEY = '\0rescan';

export function createVaultWatcher(opts: VaultWatcherOptions): VaultWatcher {
  const root = resolve(opts.root);
  const debounceMs = opts.debounceMs ?? 25;
  const log = opts.logger;
  const timers = new Map<string, NodeJS.Timeout>();
  const rescanReasons = new Set<string>();
  let closed = false;

  const schedule = (key: string, delay: number, fn: () => void): void => {
    clearTimeout(timers.get(key));
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        if (closed) return;
        try {
          fn();
        } catch (err) {
          log?.warn({ component: 'watcher', err }, 'watcher callback threw');
        }
      }, delay),
    );
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

  const isTaskFolderDir = (path: string): boolean => path !== root && shouldDescend(root, path);

  const fsw = watch(root, {
    ignoreInitial: true, // the index does its own scan
    depth: 1, // root (0) → task folders (1) → their files; never deeper
    atomic: false,
    awaitWriteFinish: false, // we debounce ourselves; polling sizes costs a stat per event
    // Stats may come from lstat: a symlink (e.g. a Done/ linked elsewhere) is judged by name.
    ignored: (path, stats) => isIgnoredForWatch(root, path, stats && !stats.isSymbolicLink() ? stats.isDirectory() : undefined),
  });

  fsw.on('add', (path) => hint(path, debounceMs));
  fsw.on('change', (path) => hint(path, Math.max(debounceMs, CHANGE_SETTLE_MS)));
  fsw.on('unlink', (path) => hint(path, Math.max(debounceMs, UNLINK_GRACE_MS)));
  fsw.on('addDir', (path) => {
    if (isTaskFolderDir(path)) rescan(`task folder ${relative(root, path)} created`);
  });
  fsw.on('unlinkDir', (path) => {
    if (isTaskFolderDir(path)) rescan(`task folder ${relative(root, path)} removed`);
  });
  fsw.on('error', (err) => {
    const message = err instanceof Error ? err.message : String(err);
    log?.warn({ component: 'watcher', err }, `file watcher error: ${message}`);
    rescan(`watcher error: ${message}`);
  });

  let markReady!: () => void;
  const ready = new Promise<void>((res) => (markReady = res));
  fsw.once('ready', () => markReady());

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      markReady(); // nobody waits forever on a watcher closed before it was ready
      await fsw.close();
    },
  };
}
