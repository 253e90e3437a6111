// pino logger: JSON lines to vault/Logs/ always, readable lines on a terminal. Secrets are redacted.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Logger, StreamEntry } from 'pino';
import { DailyFileStream } from './daily-file.js';
import { formatLogLine } from './pretty.js';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'env',
  '*.env',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'ANTHROPIC_API_KEY',
  '*.ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  '*.ANTHROPIC_AUTH_TOKEN',
];

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
  if (opts.console ?? process.stderr.isTTY) {
    const color = Boolean(process.stderr.isTTY);
    streams.push({
      level: 'trace',
      stream: { write: (line: string) => process.stderr.write(`${formatLogLine(JSON.parse(line), color)}\n`) },
    });
  }
  const logger = pino(
    {
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    streams.length > 0 ? pino.multistream(streams) : pino.destination('/dev/null'),
  );
  return { logger, close: () => file?.close() };
}

export { silentLogger } from './silent.js';
