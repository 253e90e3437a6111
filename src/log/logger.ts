// pino logger: JSON lines to vault/Logs/ always, readable lines on a terminal. Secrets are redacted.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Logger, StreamEntry } from 'pino';
import { DailyFileStream } from './daily-file.js';
import { formatLogLine } from './pretty.js';
import { redactSecrets } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  vaultDir?: string;
  level: string;
  /** Also print readable lines to this stream (default: stderr when it is a TTY or `console` true). */
  console?: boolean;
  now?: () => number;
}

export interface ServiceLogger {
  logger: Logger;
  close(): void;
}

// Loaded on first use: read-only commands (`list`, `show`) log nothing and need not pay its start-up.
const requireCjs = createRequire(import.meta.url);

export function createLogger(opts: LoggerOptions): ServiceLogger {
  const pino = requireCjs('pino') as typeof import('pino').default;
  const streams: StreamEntry[] = [];
  let file: DailyFileStream | undefined;
  if (opts.vaultDir) {
    file = new DailyFileStream(join(opts.vaultDir, 'Logs'), opts.now);
    streams.push({ level: 'trace', stream: file });
  }
  let consoleLines: ConsoleStream | undefined;
  if (opts.console ?? process.stderr.isTTY) {
    consoleLines = new ConsoleStream(Boolean(process.stderr.isTTY));
    streams.push({ level: 'trace', stream: consoleLines });
  }
  const logger = pino(
    {
      level: opts.level,
      formatters: { log: redactSecrets },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    streams.length > 0 ? pino.multistream(streams) : pino.destination('/dev/null'),
  );
  return {
    logger,
    close: () => {
      consoleLines?.flush();
      file?.close();
    },
  };
}

const unflushed = new Set<ConsoleStream>();
let exitHook = false;

/**
 * Readable lines on stderr, formatted and written once the current turn of the event loop is
 * over: a write to a pipe blocks, and two transitions' lines stood between a note's rename and its
 * agent's spawn. The order is kept; what is left is written on exit. (The JSON file in Logs/ is
 * still written at once, so a line logged just before a crash is on disk.)
 */
class ConsoleStream {
  private lines: string[] = [];
  constructor(private readonly color: boolean) {}

  write(line: string): boolean {
    if (this.lines.push(line) === 1) {
      unflushed.add(this);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => unflushed.forEach((s) => s.flush()));
      }
      setImmediate(() => this.flush());
    }
    return true;
  }

  flush(): void {
    unflushed.delete(this);
    if (this.lines.length === 0) return;
    const text = this.lines.map((l) => `${formatLogLine(JSON.parse(l), this.color)}\n`).join('');
    this.lines = [];
    process.stderr.write(text);
  }
}

export { silentLogger } from './silent.js';
