// File calls on the service's hot path. Each node:fs/promises call is a round trip through
// libuv's threadpool (a futex wake, an eventfd write, an epoll wake-up), and on a virtual machine
// those context switches cost more than the call itself: ~44 us of CPU against ~9 us for a stat;
// ~115 of them per task were a quarter of the service's CPU. So the calls the page cache answers
// (stat, lstat, opening a file to read it, reading, writing into an open file, closing, realpath)
// run here with blocking calls behind the same promise-returning signatures. The calls that change
// a folder (create, rename, link, unlink, chmod by name, mkdir) stay on the threadpool: on ext4
// they wait for the journal's commit while other tasks fsync (~1-2 ms each, measured), and that
// wait must not hold the event loop; fsync waits for the disk and stays there too. Every open adds O_NONBLOCK, so
// a FIFO can never stall the loop. Listing folders is not here: a `Done/` of 100,000 notes would.
import { closeSync, constants, fchmodSync, fstatSync, fsync, lstatSync, open as openCb, openSync, readFileSync, readSync, realpathSync, statSync, writeSync, type Stats } from 'node:fs';
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

  /** fchmod of a file we hold open: an inode change like a write's, not a folder's. */
  async chmod(mode: number): Promise<void> {
    fchmodSync(this.fd, mode);
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

const CHANGES_FOLDER = constants.O_WRONLY | constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC;

/** open(2) with O_NONBLOCK added (a FIFO answers at once instead of hanging the loop); blocking
 *  to read, on the threadpool when it may create or truncate (see above). */
export async function open(path: string, flags: number | 'r', mode?: number): Promise<QuickHandle> {
  const f = (flags === 'r' ? constants.O_RDONLY : flags) | NONBLOCK;
  if ((f & CHANGES_FOLDER) === 0) return new QuickHandle(openSync(path, f, mode));
  return new Promise((resolve, reject) => openCb(path, f, mode, (err, fd) => (err ? reject(err) : resolve(new QuickHandle(fd)))));
}

export async function stat(path: string): Promise<Stats> {
  return statSync(path);
}

export async function lstat(path: string): Promise<Stats> {
  return lstatSync(path);
}

// Folder changes: the threadpool's (see above).
export { chmod, copyFile, link, mkdir, rename, unlink } from 'node:fs/promises';

/** realpath(3), as fs/promises' realpath is. */
export async function realpath(path: string): Promise<string> {
  return realpathSync.native(path);
}

/** A small file's whole text (O_NONBLOCK: a FIFO answers at once). */
export async function readFile(path: string, encoding: 'utf8'): Promise<string> {
  // A numeric flag is passed to open(2) as is (Node's types allow only its string forms).
  return readFileSync(path, { encoding, flag: (constants.O_RDONLY | NONBLOCK) as unknown as string });
}
