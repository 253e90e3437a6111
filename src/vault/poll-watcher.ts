// The watcher for filesystems that deliver no change events (NFS/SMB shares, a Windows folder
// seen from WSL, some container mounts): chokidar's polling mode stats the active task folders
// and their notes on an interval. Same interface and the same rules as the event watcher; the
// index re-reads on each hint, so a hint too many costs a stat, never a wrong status.
import { watch } from 'chokidar';
import { resolve, sep } from 'node:path';
import { classifyPath, isIgnoredForWatch } from './ignore-rules.js';
import { watchedFolders, type VaultWatcher, type VaultWatcherOptions } from './watcher.js';

export interface PollingWatcherOptions extends VaultWatcherOptions {
  /** How often each watched file and folder is stat'ed. */
  intervalMs?: number;
}

export function createPollingWatcher(opts: PollingWatcherOptions): VaultWatcher {
  const root = resolve(opts.root);
  const interval = opts.intervalMs ?? 1000;
  const folders = new Set(watchedFolders(root).map((f) => resolve(root, f)));
  let closed = false;

  const fsw = watch(root, {
    usePolling: true,
    interval,
    binaryInterval: interval,
    ignoreInitial: true,
    depth: 1,
    followSymlinks: false, // notes are never read through links (note-store says why)
    ignored: (path, stats) => isIgnoredForWatch(root, path, stats?.isDirectory()),
  });

  const call = (fn: () => void): void => {
    if (closed) return;
    try {
      fn();
    } catch (err) {
      opts.logger?.warn({ component: 'watcher', err }, 'watcher callback threw');
    }
  };
  const onFile = (path: string): void => {
    const cls = classifyPath(root, path);
    if (cls.kind === 'task-note') call(() => opts.onNote(path));
    else if (cls.kind === 'conflict-copy') call(() => opts.onConflict(path));
  };
  // A task folder that appears or goes away (moved, replaced by a sync tool) means a rescan.
  const onDir = (path: string): void => {
    const abs = resolve(path);
    if (folders.has(abs)) call(() => opts.onRescan(`task folder ${abs.slice(root.length + sep.length)} appeared or went away`));
  };

  fsw.on('add', onFile).on('change', onFile).on('unlink', onFile);
  fsw.on('addDir', onDir).on('unlinkDir', onDir);
  fsw.on('error', (err) => {
    opts.logger?.warn({ component: 'watcher', err }, 'polling watcher error; rescanning');
    call(() => opts.onRescan('watcher error'));
  });

  // An error before "ready" must not hold up the start: the periodic scans still find notes.
  const ready = new Promise<void>((res) => fsw.once('ready', () => res()).once('error', () => res()));
  return {
    ready,
    async close() {
      closed = true;
      await fsw.close();
    },
  };
}
