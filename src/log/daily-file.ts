// A pino destination that writes JSON lines to vault/Logs/vaultrunner-<host>-<date>.jsonl, one file
// per local day and host, so two machines syncing one vault never append to the same file.
import { closeSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureVaultDirSync, openAppendSync, UnsafePathError } from '../os/safe-open.js';

export function logFileName(day: string, host = hostname()): string {
  return `vaultrunner-${host.replace(/[^A-Za-z0-9._-]/g, '_')}-${day}.jsonl`;
}

export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export class DailyFileStream {
  private fd: number | undefined;
  private day = '';
  /** The day whose file we refused to open (a link out of the vault, a FIFO): no retry per line. */
  private refusedDay = '';

  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
    /** The vault: the log folder may not lead out of it. */
    private readonly root: string = dirname(dir),
  ) {}

  write(line: string): boolean {
    const day = localDay(this.now());
    if (day === this.refusedDay) return true;
    if (day !== this.day || this.fd === undefined) {
      try {
        this.open(day);
      } catch (err) {
        if (!(err instanceof UnsafePathError)) throw err;
        // Never write through a link or into a FIFO; the console keeps the log meanwhile.
        this.refusedDay = day;
        process.stderr.write(`vaultrunner: not writing the log file today: ${(err as Error).message}\n`);
        return true;
      }
    }
    // Synchronous append: a line logged just before a crash is still on disk.
    try {
      writeSync(this.fd!, line);
    } catch {
      this.fd = undefined; // folder deleted under us: reopen on the next line
    }
    return true;
  }

  private open(day: string): void {
    this.close();
    ensureVaultDirSync(this.root, this.dir);
    this.fd = openAppendSync(join(this.dir, logFileName(day)));
    this.day = day;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
