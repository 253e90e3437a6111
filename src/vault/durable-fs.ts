// Writes that survive a crash: data fsynced before it is renamed or linked into place, and the
// directory fsynced after.
import { constants } from 'node:fs';
import { copyFile, link, open } from '../os/quick-fs.js';

/** Write `text` to `path` and fsync it. `flag` 'wx' refuses an existing file; neither follows a
 *  symlink at `path` (it could lead out of the vault). */
export async function writeSynced(path: string, text: string, flag: 'w' | 'wx', fsync = true, mode?: number): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | (flag === 'wx' ? constants.O_EXCL : constants.O_TRUNC) | (constants.O_NOFOLLOW ?? 0);
  const fh = await open(path, flags, 0o666);
  try {
    await fh.writeFile(text, 'utf8');
    // On the descriptor, before the fsync: no second round trip through the thread pool by name.
    if (mode !== undefined) await fh.chmod(mode);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsync a folder, so the names renamed or linked into it survive a crash. Callers that ask while
 * one is under way share the next one (it starts after every one of their changes): one fsync
 * makes all their names durable, where 8 tasks finishing together would queue 8.
 */
export function syncDir(dir: string): Promise<void> {
  let q = dirSyncs.get(dir);
  if (!q) dirSyncs.set(dir, (q = { running: false, waiting: [] }));
  const queue = q;
  return new Promise<void>((resolve) => {
    queue.waiting.push(resolve);
    if (!queue.running) void drain(dir, queue);
  });
}

const dirSyncs = new Map<string, { running: boolean; waiting: (() => void)[] }>();
/** Folder fsyncs run so far in this process (what the sharing saves is seen in tests and benches). */
export const dirSyncCount = { value: 0 };

async function drain(dir: string, q: { running: boolean; waiting: (() => void)[] }): Promise<void> {
  q.running = true;
  while (q.waiting.length) {
    const batch = q.waiting;
    q.waiting = [];
    await fsyncDir(dir);
    for (const done of batch) done();
  }
  q.running = false;
  dirSyncs.delete(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  dirSyncCount.value++;
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort: some filesystems refuse fsync on directories */
  }
}

/** Put `from` at `to` without ever replacing an existing `to` (EEXIST): a hard link, or a copy on
 *  filesystems without hard links. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EOPNOTSUPP') throw err;
    await copyFile(from, to, constants.COPYFILE_EXCL);
  }
}
