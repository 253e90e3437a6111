// A pino destination that writes JSON lines to vault/Logs/vaultrunner-<host>-<date>.jsonl, one file
// per local day and host, so two machines syncing one vault never append to the same file.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

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

  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  write(line: string): boolean {
    const day = localDay(this.now());
    if (day !== this.day || this.fd === undefined) this.open(day);
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
    mkdirSync(this.dir, { recursive: true });
    this.fd = openSync(join(this.dir, logFileName(day)), 'a');
    this.day = day;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
