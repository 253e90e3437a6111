// Small JSON files in the machine-state folder, written atomically.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { linkOrCopy, writeSynced } from './durable-fs.js';

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof SyntaxError) return undefined; // torn or foreign file: treat as absent
    throw err;
  }
}

export async function writeJson(path: string, value: unknown, opts: { exclusive?: boolean; fsync?: boolean } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const text = `${JSON.stringify(value)}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  if (opts.exclusive) {
    // Written whole under a temp name, then linked into place (EEXIST when someone holds it): a
    // crash can never leave an empty claim that nobody can read, take over or recover.
    await writeSynced(tmp, text, 'wx', opts.fsync !== false);
    try {
      await linkOrCopy(tmp, path);
    } finally {
      await unlink(tmp).catch(() => {});
    }
    return;
  }
  await writeSynced(tmp, text, 'w', opts.fsync !== false);
  await rename(tmp, path);
}

export async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Remove the temp files a crash left in a state folder (`.<name>.<hex>.tmp`, see writeJson).
 * Only for folders that just one process writes, and only while it holds the service lock.
 */
export async function removeStaleTemps(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => /^\..+\.[0-9a-f]{8}\.tmp$/.test(n));
  await Promise.all(stale.map((n) => removeFile(join(dir, n))));
  return stale.length;
}
