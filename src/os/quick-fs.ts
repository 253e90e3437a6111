// File calls on the service's hot path, run on the main thread. Each node:fs/promises call is a
// round trip through libuv's threadpool (a futex wake, an eventfd write, an epoll wake-up), and on
// a virtual machine those context switches cost more than the call itself: ~115 of them per task
// were a quarter of the service's CPU. Opening, reading, writing, renaming and stat-ing a small file
// on a local disk does not wait on the device (the page cache answers), so they run here with
// blocking calls behind the same promise-returning signatures. fsync does wait for the disk: it
// stays on the threadpool. Every open adds O_NONBLOCK, so a FIFO can never stall the event loop.
// Listing folders (readdir) is not here: a `Done/` of 100,000 notes would hold the loop.
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  fsync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { readToEnd } from './read-to-end.js';

const NONBLOCK = constants.O_NONBLOCK ?? 0;

/** The subset of fs/promises' FileHandle the service uses, over a plain descriptor. */
export class QuickHandle {
  private closed = false;
  constructor(readonly fd: number) {}

  async stat(): Promise<Stats> {
    return fstatSync(this.fd);
  }

  /** The rest of the file, from the current position. */
  async readFile(): Promise<Buffer> {
    const st = fstatSync(this.fd);
    // One byte more than its size: a file that grew meanwhile is read whole, still in one go.
    return readToEnd(this.fd, Buffer.allocUnsafe(st.size + 1));
  }

  async read(buffer: Buffer, offset: number, length: number, position: number | null): Promise<{ bytesRead: number; buffer: Buffer }> {
    return { bytesRead: readSync(this.fd, buffer, offset, length, position), buffer };
  }

  async writeFile(data: string | Uint8Array, _encoding?: 'utf8'): Promise<void> {
    writeAll(this.fd, data);
  }

  async appendFile(data: string | Uint8Array): Promise<void> {
    writeAll(this.fd, data);
  }

  /** fsync: waits for the disk, so it runs on the threadpool. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fsync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** open(2) with O_NONBLOCK added (a FIFO answers at once instead of hanging the loop). */
export async function open(path: string, flags: number | 'r', mode?: number): Promise<QuickHandle> {
  const f = flags === 'r' ? constants.O_RDONLY : flags;
  return new QuickHandle(openSync(path, f | NONBLOCK, mode));
}

export async function stat(path: string): Promise<Stats> {
  return statSync(path);
}

export async function lstat(path: string): Promise<Stats> {
  return lstatSync(path);
}

export async function rename(from: string, to: string): Promise<void> {
  renameSync(from, to);
}

export async function unlink(path: string): Promise<void> {
  unlinkSync(path);
}

export async function link(existing: string, path: string): Promise<void> {
  linkSync(existing, path);
}

export async function chmod(path: string, mode: number): Promise<void> {
  chmodSync(path, mode);
}

export async function mkdir(path: string, opts?: { recursive?: boolean }): Promise<void> {
  mkdirSync(path, opts);
}

export async function copyFile(from: string, to: string, mode?: number): Promise<void> {
  copyFileSync(from, to, mode);
}

/** realpath(3), as fs/promises' realpath is. */
export async function realpath(path: string): Promise<string> {
  return realpathSync.native(path);
}

/** A small file's whole text (O_NONBLOCK: a FIFO answers at once). */
export async function readFile(path: string, encoding: 'utf8'): Promise<string> {
  // A numeric flag is passed to open(2) as is (Node's types allow only its string forms).
  return readFileSync(path, { encoding, flag: (constants.O_RDONLY | NONBLOCK) as unknown as string });
}
