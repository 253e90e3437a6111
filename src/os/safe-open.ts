// The one way the service creates folders and opens files in a vault. A vault is written by sync
// tools, git and people, and git and Syncthing carry symlinks: a planted `Logs/runs/x/attempt-1.md`
// -> ~/.ssh/authorized_keys, or a `Done/` -> /elsewhere, must never make us write outside the
// vault. So: folders are created component by component and refused when their real path leaves
// the vault; files are opened with O_NOFOLLOW (or O_EXCL, which never follows either); and only
// regular files are opened, with O_NONBLOCK, so a FIFO can never hang us.
// (Node has no openat(): a link swapped in between the folder check and the open is not caught,
// but the file itself is never followed.)
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, realpath, type QuickHandle as FileHandle } from './quick-fs.js';
import { isAbsolute, join, relative, sep } from 'node:path';
import { VaultrunnerError } from '../errors.js';
import { readToEnd } from './read-to-end.js';

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;

/** A path in the vault the service refuses to write through (a link out, a FIFO, a folder that is a file). */
export class UnsafePathError extends VaultrunnerError {
  constructor(
    readonly path: string,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super('UNSAFE_PATH', message, opts);
  }
}

function inside(realRoot: string, real: string): boolean {
  const rel = relative(realRoot, real);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function components(root: string, dir: string): string[] {
  const rel = relative(root, dir);
  if (rel === '') return [];
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new UnsafePathError(dir, `${dir} is not inside the vault ${root}`);
  return rel.split(sep);
}

const linkedOut = (root: string, dir: string, real: string) =>
  new UnsafePathError(dir, `${relative(root, dir) || dir} is a symbolic link to ${real}, outside the vault; vaultrunner does not write through it (make it a real folder)`);
const notDir = (root: string, dir: string) => new UnsafePathError(dir, `${relative(root, dir)} is not a folder; vaultrunner does not write there`);

/**
 * Make `dir` (a folder inside the vault `root`) exist, creating missing folders one at a time.
 * UnsafePathError when any folder on the way is a link whose real path leaves the vault (a link
 * to elsewhere inside the vault is fine) or is not a folder. Nothing is created outside the vault.
 */
export async function ensureVaultDir(root: string, dir: string): Promise<{ linked: boolean }> {
  // The vault's real path matters only to judge a link, and nearly no vault has one on the way.
  let realRoot: string | undefined;
  let linked = false;
  let cur = root;
  for (const part of components(root, dir)) {
    cur = join(cur, part);
    let st = await lstat(cur).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) {
      await mkdir(cur).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      st = await lstat(cur);
    }
    if (st.isSymbolicLink()) {
      linked = true;
      realRoot ??= await realpath(root);
      const real = await realpath(cur).catch(() => '(a missing target)');
      if (!inside(realRoot, real)) throw linkedOut(root, cur, real);
      st = await lstat(real);
    }
    if (!st.isDirectory()) throw notDir(root, cur);
  }
  return { linked };
}

/** ensureVaultDir for synchronous callers (the log file stream). */
export function ensureVaultDirSync(root: string, dir: string): void {
  let realRoot: string | undefined;
  let cur = root;
  for (const part of components(root, dir)) {
    cur = join(cur, part);
    let st;
    try {
      st = lstatSync(cur);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      try {
        mkdirSync(cur);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      st = lstatSync(cur);
    }
    if (st.isSymbolicLink()) {
      let real = '(a missing target)';
      try {
        real = realpathSync(cur);
      } catch {
        /* dangling */
      }
      realRoot ??= realpathSync(root);
      if (!inside(realRoot, real)) throw linkedOut(root, cur, real);
      st = lstatSync(real);
    }
    if (!st.isDirectory()) throw notDir(root, cur);
  }
}

function refusal(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new UnsafePathError(path, `${path} is a symbolic link; vaultrunner never writes through one (it could point outside the vault)`, { cause: err });
  if (code === 'ENXIO') return new UnsafePathError(path, `${path} is not a regular file (a FIFO or socket); vaultrunner does not open it`, { cause: err });
  return err;
}

/** Open a file for appending (created if missing): never through a link, only a regular file. */
export async function openAppend(path: string, mode = 0o644): Promise<FileHandle> {
  return openRegular(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, mode);
}

/** Create a new file; EEXIST when the name is taken by anything (a link included). */
export async function createExclusive(path: string, mode = 0o644): Promise<FileHandle> {
  return openRegular(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
}

/** Open with O_NOFOLLOW | O_NONBLOCK and refuse anything but a regular file (UnsafePathError). */
export async function openRegular(path: string, flags: number, mode = 0o644): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, flags | NOFOLLOW | NONBLOCK, mode);
  } catch (err) {
    throw refusal(path, err);
  }
  const st = await fh.stat().catch(async (err: unknown) => {
    await fh.close();
    throw err;
  });
  if (!st.isFile()) {
    await fh.close();
    throw new UnsafePathError(path, `${path} is not a regular file; vaultrunner does not open it`);
  }
  return fh;
}

/** openAppendSync's flags: append, create, never through a link, never wait on a FIFO (the
 *  spawner process opens agents' output files with them too). */
export const APPEND_SYNC_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW | NONBLOCK;

/** openAppend for synchronous callers; returns a file descriptor. */
export function openAppendSync(path: string, mode = 0o644): number {
  let fd: number;
  try {
    fd = openSync(path, APPEND_SYNC_FLAGS, mode);
  } catch (err) {
    throw refusal(path, err);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new UnsafePathError(path, `${path} is not a regular file; vaultrunner does not open it`);
  }
  return fd;
}

/**
 * A regular file's bytes, never following a link and never blocking on a FIFO; undefined when
 * it does not exist. UnsafePathError for a link, a FIFO or a folder; `maxBytes` bounds the read.
 */
export async function readRegularFile(path: string, opts: { maxBytes?: number } = {}): Promise<Buffer | undefined> {
  let fh: FileHandle;
  try {
    fh = await openRegular(path, constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    if (opts.maxBytes !== undefined) {
      const st = await fh.stat();
      if (st.size > opts.maxBytes) throw new UnsafePathError(path, `${path} is ${st.size} bytes, more than the ${opts.maxBytes} expected`);
    }
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/**
 * readRegularFile with blocking calls, and the open file's stat (for a one-shot command that reads
 * many small files at once: `list` reading every task's state). Same refusals.
 */
/**
 * A one-shot reader's text of a file its folder's listing called a regular file: one native call
 * (open without following a link or waiting on a FIFO, read, decode as UTF-8, invalid bytes as
 * U+FFFD). Undefined when it cannot tell: any error, an empty file (a FIFO swapped in reads as
 * one), more than `maxBytes`; the caller then takes its careful read.
 */
export function readTextOneShot(path: string, maxBytes: number): string | undefined {
  let text: string;
  try {
    // A numeric flag is passed to open(2) as is (Node's types allow only its string forms).
    text = readFileSync(path, { encoding: 'utf8', flag: (constants.O_RDONLY | NOFOLLOW | NONBLOCK) as unknown as string });
  } catch {
    return undefined;
  }
  if (text === '' || (text.length > maxBytes / 3 && Buffer.byteLength(text) > maxBytes)) return undefined;
  return text;
}

export function readRegularFileSync(path: string, opts: { maxBytes?: number } = {}): { buf: Buffer; st: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW | NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw refusal(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafePathError(path, `${path} is not a regular file; vaultrunner does not open it`);
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) throw new UnsafePathError(path, `${path} is ${st.size} bytes, more than the ${opts.maxBytes} expected`);
    return { buf: readToEnd(fd, Buffer.allocUnsafe(st.size + 1)), st }; // (one byte more: a file that grew is seen to)
  } finally {
    closeSync(fd);
  }
}
