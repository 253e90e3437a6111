// Small JSON files in the machine-state folder, written atomically.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeSynced } from './durable-fs.js';

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
  if (opts.exclusive) return writeSynced(path, text, 'wx', opts.fsync !== false); // EEXIST when someone holds it
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await writeSynced(tmp, text, 'w', opts.fsync !== false);
  await rename(tmp, path);
}

export async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
