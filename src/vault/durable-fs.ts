// Writes that survive a crash: data fsynced before it is renamed or linked into place, and the
// directory fsynced after.
import { open } from 'node:fs/promises';

/** Write `text` to `path` and fsync it. `flag` 'wx' refuses an existing file. */
export async function writeSynced(path: string, text: string, flag: 'w' | 'wx', fsync = true): Promise<void> {
  const fh = await open(path, flag);
  try {
    await fh.writeFile(text, 'utf8');
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function syncDir(dir: string): Promise<void> {
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
