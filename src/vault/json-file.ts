// Small JSON files in the machine-state folder, written atomically. Never through a link, never
// from a FIFO (see safe-open): the state folder lives in a vault that sync tools write to.
import { tempTag } from '../os/temp-tag.js';
import { readdir } from 'node:fs/promises';
import { mkdir, rename, unlink } from '../os/quick-fs.js';
import { basename, dirname, join } from 'node:path';
import { linkOrCopy, writeSynced } from './durable-fs.js';
import { vaultRootOfState } from './layout.js';
import { ensureVaultDir, readRegularFile, readRegularFileSync, readTextOneShot, UnsafePathError } from '../os/safe-open.js';
import type { Stats } from 'node:fs';

/** State files are small; anything bigger is not ours. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** The parsed file, or undefined when it is absent, torn, or not a regular file of ours (a link,
 *  a FIFO: treated as foreign, never followed or waited on). */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    const buf = await readRegularFile(path, { maxBytes: MAX_JSON_BYTES });
    return buf === undefined ? undefined : (JSON.parse(buf.toString('utf8')) as T);
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof UnsafePathError) return undefined; // torn or foreign file: treat as absent
    throw err;
  }
}

/**
 * A one-shot command's read of a state file its folder's listing called a regular file: one native
 * call that follows no link and waits on no FIFO. Undefined when it cannot tell (any error, a torn
 * or oversize file): the caller takes the careful read (readJsonSync), which decides as always.
 */
export function readJsonOneShot<T>(path: string): { value: T } | undefined {
  const text = readTextOneShot(path, MAX_JSON_BYTES);
  if (text === undefined) return undefined;
  try {
    return { value: JSON.parse(text) as T };
  } catch {
    return undefined; // torn: the careful read decides
  }
}

/** readJson with blocking calls, with the file's stat; for a one-shot command (see readRegularFileSync). */
export function readJsonSync<T>(path: string): { value: T | undefined; st?: Stats } {
  try {
    const r = readRegularFileSync(path, { maxBytes: MAX_JSON_BYTES });
    return r === undefined ? { value: undefined } : { value: JSON.parse(r.buf.toString('utf8')) as T, st: r.st };
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof UnsafePathError) return { value: undefined }; // torn or foreign file: treat as absent
    throw err;
  }
}

export async function writeJson(path: string, value: unknown, opts: { exclusive?: boolean; fsync?: boolean } = {}): Promise<void> {
  // Inside a vault's state folder, the folders on the way may not lead out of the vault.
  const root = vaultRootOfState(path);
  if (root) await ensureVaultDir(root, dirname(path));
  else await mkdir(dirname(path), { recursive: true });
  const text = `${JSON.stringify(value)}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${tempTag()}.tmp`);
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
  await writeSynced(tmp, text, 'wx', opts.fsync !== false); // a fresh temp name: never an existing file
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
