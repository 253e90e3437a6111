// Writes that survive a crash: data fsynced before it is renamed or linked into place, and the
// directory fsynced after.
import { constants } from 'node:fs';
import { copyFile, link, open } from 'node:fs/promises';

/** Write `text` to `path` and fsync it. `flag` 'wx' refuses an existing file; neither follows a
 *  symlink at `path` (it could lead out of the vault). */
export async function writeSynced(path: string, text: string, flag: 'w' | 'wx', fsync = true): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | (flag === 'wx' ? constants.O_EXCL : constants.O_TRUNC) | (constants.O_NOFOLLOW ?? 0);
  const fh = await open(path, flags, 0o666);
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
