// An agent's stdout and stderr go to files the service owns, not to pipes: an agent outlives a
// service killed with -9 (it is detached by design), and with a pipe its result would die with the
// reader (EPIPE) or never be read. A restarted service reads the finished run's result from the
// file instead of running the task again. While the service lives it follows the files as they grow.
import { closeSync, constants, watch, type FSWatcher } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { open, type QuickHandle as FileHandle } from '../../os/quick-fs.js';
import { openAppendSync } from '../../os/safe-open.js';

/** Where one run's output goes (inside the vault's `.vaultrunner/`, created by the engine). */
export interface OutputFiles {
  stdout: string;
  stderr: string;
}

/** Open both files for the child (appending, never through a link, private). */
export function openOutputFds(files: OutputFiles): { stdout: number; stderr: number } {
  const stdout = openAppendSync(files.stdout, 0o600);
  try {
    return { stdout, stderr: openAppendSync(files.stderr, 0o600) };
  } catch (err) {
    closeSync(stdout);
    throw err;
  }
}

const CHUNK = 64 * 1024;
/**
 * Chunks read before the follower lets the event loop run. quick-fs reads are blocking calls behind
 * resolved promises, so without this a 200 MB flood would be drained in one microtask chain: no
 * timer (the watchdog's timeouts), no file event and no web request would run until it ended.
 */
const YIELD_EVERY = 16;

// Read buffers, reused: a follower holds one only while it reads (two per run, most of the time
// with nothing to read), and a fresh 64 KB each was the service's largest Buffer cost per run.
const spare: Buffer[] = [];
const takeBuffer = (): Buffer => spare.pop() ?? Buffer.allocUnsafe(CHUNK);
const giveBack = (b: Buffer): void => {
  if (spare.length < 16) spare.push(b);
};

/**
 * Follows a file a child appends to: every new byte goes to `onChunk`, in order. A change event
 * wakes it at once; a short poll covers a missed event. `finish()` reads to the end and closes.
 */
export class FileFollower {
  private pos = 0;
  private fh: FileHandle | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly onChunk: (chunk: Buffer) => void,
    private readonly pollMs = 200,
  ) {}

  start(): void {
    try {
      this.watcher = watch(this.path, { persistent: false }, () => this.kick());
      this.watcher.on('error', () => undefined);
    } catch {
      // polling alone still follows it
    }
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
    this.kick();
  }

  private kick(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch(() => undefined)
      .finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async pump(): Promise<void> {
    this.fh ??= await open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const buf = takeBuffer(); // this pump's alone until it returns (pumps of one follower never overlap)
    try {
      for (let chunks = 1; ; chunks++) {
        const { bytesRead } = await this.fh.read(buf, 0, CHUNK, this.pos);
        if (bytesRead === 0) return;
        this.pos += bytesRead;
        this.onChunk(Buffer.from(buf.subarray(0, bytesRead)));
        if (chunks % YIELD_EVERY === 0) await nextTurn();
      }
    } finally {
      giveBack(buf);
    }
  }

  /** Stop watching, read what is left, close. */
  async finish(): Promise<void> {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
    while (this.pumping) await this.pumping;
    await this.pump().catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
  }
}
