// `vaultrunner logs [-f]`: the service's JSON log lines (vault/Logs/*.jsonl, one file per host and
// day) merged by time and printed readably. Following polls the folder, so it works on synced
// vaults and across day changes; it stops on SIGINT (or an AbortSignal in tests).
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { linkName } from '../../lifecycle/task.js';
import { formatLogLine, LEVEL_VALUES } from '../../log/pretty.js';
import type { Command } from '../command.js';
import { isTty, openVault } from './shared.js';

export interface LogFilter {
  task?: string;
  /** Minimum numeric pino level (30 = info). */
  minLevel?: number;
}

export type LogRecord = Record<string, unknown>;

const CHUNK = 1024 * 1024;

export function matchesFilter(rec: LogRecord, f: LogFilter): boolean {
  if (f.task !== undefined && rec.task !== f.task) return false;
  if (f.minLevel !== undefined && !(Number(rec.level) >= f.minLevel)) return false;
  return true;
}

/** Stable sort by `time`; lines without one keep their place relative to their neighbours. */
export function byTime(records: LogRecord[]): LogRecord[] {
  return records
    .map((r, i) => ({ r, i, t: typeof r.time === 'number' ? r.time : Number.NEGATIVE_INFINITY }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.r);
}

/**
 * Reads what was appended to the log files since the last poll. Keeps a byte offset and the
 * unfinished last line per file; a file that shrank (replaced or truncated) is read again from 0.
 */
export class LogTailer {
  private readonly files = new Map<string, { offset: number; rest: Buffer }>();

  constructor(private readonly dir: string) {}

  async poll(): Promise<LogRecord[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.jsonl') && !n.startsWith('.')).sort();
    const out: LogRecord[] = [];
    for (const name of names) out.push(...(await this.readNew(join(this.dir, name))));
    return out;
  }

  private async readNew(path: string): Promise<LogRecord[]> {
    let fh;
    try {
      fh = await open(path, 'r');
    } catch {
      return []; // removed between readdir and open
    }
    const out: LogRecord[] = [];
    try {
      const size = (await fh.stat()).size;
      let st = this.files.get(path) ?? { offset: 0, rest: Buffer.alloc(0) };
      if (size < st.offset) st = { offset: 0, rest: Buffer.alloc(0) };
      while (st.offset < size) {
        const buf = Buffer.alloc(Math.min(CHUNK, size - st.offset));
        const { bytesRead } = await fh.read(buf, 0, buf.length, st.offset);
        if (bytesRead === 0) break;
        st.offset += bytesRead;
        // Split on the newline byte: safe in UTF-8, so a character cut by a chunk is kept whole.
        let data = Buffer.concat([st.rest, buf.subarray(0, bytesRead)]);
        let nl;
        while ((nl = data.indexOf(10)) >= 0) {
          const rec = parseLine(data.subarray(0, nl).toString('utf8'));
          if (rec) out.push(rec);
          data = data.subarray(nl + 1);
        }
        st.rest = Buffer.from(data);
      }
      this.files.set(path, st);
    } finally {
      await fh.close();
    }
    return out;
  }
}

function parseLine(line: string): LogRecord | undefined {
  if (line.trim() === '') return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as LogRecord) : undefined;
  } catch {
    return undefined; // a torn or foreign line
  }
}

export interface FollowOptions {
  dir: string;
  filter: LogFilter;
  /** Called with each batch of new matching records, in time order. */
  onRecords: (records: LogRecord[]) => void;
  signal: AbortSignal;
  pollMs?: number;
  /** Records already there when following starts: how many of the newest to pass on (default all). */
  initial?: number;
  /** Stop after the first read (no following). */
  once?: boolean;
}

/** Read the logs, then (unless `once`) keep polling for new lines until `signal` aborts. */
export async function followLogs(opts: FollowOptions): Promise<void> {
  const tailer = new LogTailer(opts.dir);
  const first = byTime((await tailer.poll()).filter((r) => matchesFilter(r, opts.filter)));
  const shown = opts.initial === undefined ? first : opts.initial <= 0 ? [] : first.slice(-opts.initial);
  if (shown.length) opts.onRecords(shown);
  if (opts.once) return;
  while (!opts.signal.aborted) {
    await sleep(opts.pollMs ?? 250, opts.signal);
    if (opts.signal.aborted) break;
    const batch = byTime((await tailer.poll()).filter((r) => matchesFilter(r, opts.filter)));
    if (batch.length) opts.onRecords(batch);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export const logsCommand: Command = {
  name: 'logs',
  summary: "print the service's logs readably; -f follows new lines",
  usage: 'logs [-f] [--task <id>] [--level <level>] [--lines <n>]',
  help: [
    "Reads the vault's Logs/vaultrunner-<host>-<date>.jsonl files (every host's, merged by time).",
    '--task shows only lines about one task; --level shows that level and above',
    `(${Object.keys(LEVEL_VALUES).join(', ')}); --lines (-n) shows only the last n lines first.`,
    '-f (--follow) keeps printing new lines, also from new daily files, until Ctrl-C;',
    'it starts with the last 20 lines unless --lines says otherwise.',
  ].join('\n'),
  options: { follow: { type: 'boolean', short: 'f' }, task: { type: 'string' }, level: { type: 'string' }, lines: { type: 'string', short: 'n' } },
  async run(ctx) {
    const { io, values } = ctx;
    const level = typeof values.level === 'string' ? values.level.toLowerCase() : undefined;
    if (level !== undefined && LEVEL_VALUES[level] === undefined) throw new UsageError(`--level ${JSON.stringify(values.level)} is not a level; use one of ${Object.keys(LEVEL_VALUES).join(', ')}`);
    const lines = values.lines === undefined ? undefined : Number(values.lines);
    if (lines !== undefined && (!Number.isInteger(lines) || lines < 0)) throw new UsageError(`--lines ${JSON.stringify(values.lines)} is not a whole number`);
    const filter: LogFilter = { task: typeof values.task === 'string' ? linkName(values.task) : undefined, minLevel: level ? LEVEL_VALUES[level] : undefined };
    const { paths } = openVault(ctx);
    const color = isTty(io.stdout);
    const ac = new AbortController();
    const stop = () => ac.abort();
    const follow = Boolean(values.follow);
    if (follow) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    io.stdout.on('error', stop); // e.g. `vaultrunner logs -f | head`: the reader went away
    try {
      await followLogs({
        dir: paths.logs,
        filter,
        signal: ac.signal,
        once: !follow,
        initial: lines ?? (follow ? 20 : undefined),
        onRecords: (recs) => io.stdout.write(recs.map((r) => `${formatLogLine(r, color)}\n`).join('')),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.stdout.off('error', stop);
    }
    return 0;
  },
};
