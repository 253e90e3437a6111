// `vaultrunner list`: the task queue as the service sees it, built with the same index and
// readiness rules the service uses (no second parser), read-only.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/config.js';
import { UsageError } from '../../errors.js';
import { readinessText, type Readiness, type WaitReason } from '../../domain/readiness.js';
import { PRIORITY_RANK, STATUSES, type Priority } from '../../domain/status.js';
import { describeProblems } from '../../domain/task.js';
import { isRootLikeLocale, sortByName } from '../../domain/name-order.js';
import { offlineWaitSources, readinessNow, readinessOf, type WaitSources } from '../../engine/wait-facts.js';
import { silentLogger } from '../../log/silent.js';
import type { VaultPaths } from '../../vault/layout.js';
import type { NoteStore } from '../../vault/note-store.js';
import { TaskIndex, type IndexEntry } from '../../vault/task-index.js';
import { TaskStateStore } from '../../vault/task-state.js';
import type { Command } from '../command.js';
import { clockTime, formatAge, openVault, parseLocalDateTime, validated } from './shared.js';

export interface TaskRow {
  id: string;
  title: string | null;
  /** A status, or '?' for a note that cannot be read. */
  status: string;
  type: string | null;
  priority: string;
  folder: 'Needs_Action' | 'Pending_Approval' | 'Done';
  /** Age in ms since `created` (else since the file was made); null when unknown. */
  ageMs: number | null;
  age: string;
  attempts: number;
  /** What the task waits on: `blocked by a, b`, `approval`, `queued`, `backoff until 12:00:00`, `paused`, … or null. */
  waitingOn: string | null;
  /** The same, structured: the wait reason of the one readiness function (domain/readiness.ts). */
  wait: WaitReason | null;
  /** Dependencies not done yet. */
  dependencies: string[];
  /** Retry backoff end (epoch ms) from .vaultrunner/tasks/<id>.json. */
  notBefore: number | null;
  /** Why the note is invalid/unreadable, or why it can never start (missing or cyclic dependency). */
  problem: string | null;
  /** The note's `error` property. */
  error: string | null;
  path: string;
}

export interface CollectOptions {
  paths: VaultPaths;
  store: NoteStore;
  config: Config;
  includeDone: boolean;
  now: number;
}

const FOLDER_RANK = { Needs_Action: 0, Pending_Approval: 1, Done: 2 } as const;
// Names in the order of String#localeCompare; plain ASCII ones without loading ICU (see name-order).
const ROOT_LIKE = isRootLikeLocale(process.env);

/** One row per note in the active folders (and Done/ when asked), sorted by folder, priority, id. */
export async function collectTaskRows(opts: CollectOptions): Promise<TaskRow[]> {
  const { paths, store, now } = opts;
  const index = new TaskIndex(store, paths, silentLogger(), () => now);
  // A one-shot read of every note, lean (see LeanScan): texts kept only for tasks a state file may
  // compare. The state folder is listed once, for this and for prime.
  const states = new TaskStateStore(paths.taskState);
  await index.scan({ blocking: true, oneShot: true, lean: { keepText: states.mayHaveState() } });
  await states.prime(index.entries().map((e) => e.id), { load: true }); // blocking reads
  const sources = await offlineWaitSources({ config: opts.config, paths, index, taskState: states, now });
  const rows: TaskRow[] = [];
  for (const e of index.entries()) {
    const row = rowOf(e, sources, opts);
    rows.push(row instanceof Promise ? await row : row); // most rows need no waiting (readinessNow)
  }
  if (opts.includeDone) rows.push(...(await doneRows(opts)));
  return sortByName(rows, (r) => r.id, ROOT_LIKE, (a, b) => FOLDER_RANK[a.folder] - FOLDER_RANK[b.folder] || (PRIORITY_RANK[a.priority as Priority] ?? 9) - (PRIORITY_RANK[b.priority as Priority] ?? 9));
}

// `born`: a function where finding the birth time costs a stat (asked only without `created`).
function baseRow(id: string, path: string, folder: TaskRow['folder'], data: Record<string, unknown> | undefined, createdText: unknown, born: number | undefined | (() => number), now: number): TaskRow {
  const created = parseLocalDateTime(createdText) ?? (typeof born === 'function' ? born() : born);
  const ageMs = created === undefined ? null : Math.max(0, Math.round(now - created));
  return {
    id,
    title: typeof data?.title === 'string' ? data.title : null,
    status: typeof data?.status === 'string' ? data.status : data ? 'new' : '?',
    type: typeof data?.type === 'string' ? data.type : null,
    priority: typeof data?.priority === 'string' ? data.priority : 'medium',
    folder,
    ageMs,
    age: ageMs === null ? '?' : formatAge(ageMs),
    attempts: typeof data?.attempts === 'number' ? data.attempts : 0,
    waitingOn: null,
    wait: null,
    dependencies: [],
    notBefore: null,
    problem: null,
    error: typeof data?.error === 'string' ? data.error : null,
    path,
  };
}

function rowOf(e: IndexEntry, sources: WaitSources, opts: CollectOptions): TaskRow | Promise<TaskRow> {
  // A valid task's row comes from the task (a lean scan keeps no frontmatter data for it).
  const data = e.state.kind === 'unreadable' ? undefined : e.state.data;
  const row = baseRow(e.id, e.path, e.folder, data, e.state.kind === 'task' ? e.state.task.created : data?.created, () => e.firstSeen, opts.now);
  if (e.state.kind === 'unreadable') {
    row.problem = `unreadable: ${e.state.reason}`;
    return row;
  }
  if (e.state.kind === 'invalid') {
    row.status = e.state.status;
    row.problem = `invalid: ${describeProblems(e.state.problems)}`;
    return row;
  }
  const task = e.state.task;
  row.status = task.status;
  row.type = task.type;
  row.priority = task.priority;
  row.attempts = task.attempts;
  row.title = task.title ?? null;
  row.error = task.error ?? null;
  const now = readinessNow(e, sources);
  if (now) return explainWait(row, now);
  return readinessOf(e, sources).then((r) => explainWait(row, r));
}

function explainWait(row: TaskRow, r: Readiness): TaskRow {
  row.waitingOn = readinessText(r, clockTime);
  if (r.kind === 'problem') row.problem = r.problem;
  if (r.kind !== 'waiting') return row;
  row.wait = r.reason;
  if (r.reason.kind === 'dependency') row.dependencies = r.reason.on;
  if (r.reason.kind === 'backoff') row.notBefore = r.reason.until;
  return row;
}

async function doneRows(opts: CollectOptions): Promise<TaskRow[]> {
  const { paths, store, now } = opts;
  const names = (await readdir(paths.done).catch(() => [] as string[])).filter((n) => n.toLowerCase().endsWith('.md') && !n.startsWith('.'));
  const rows: TaskRow[] = [];
  for (const name of names) {
    const path = join(paths.done, name);
    const id = name.replace(/\.md$/i, '');
    const read = await store.read(path).catch(() => undefined);
    if (!read) continue; // moved away meanwhile
    const born = await stat(path).then((s) => s.birthtimeMs || s.mtimeMs, () => undefined);
    const row = baseRow(id, path, 'Done', read.ok ? read.data : undefined, read.ok ? read.data.created : undefined, born, now);
    const v = validated(id, read);
    if ('unreadable' in v) row.problem = `unreadable: ${v.unreadable}`;
    else if (!v.ok) row.problem = `invalid: ${describeProblems(v.problems)}`;
    if (read.ok && read.data.status === undefined) row.status = 'done'; // a note a person filed by hand
    rows.push(row);
  }
  return rows;
}

const ASCII = /^[\x00-\x7f]*$/;

/** Characters (code points) of a cell; plain ASCII, nearly every cell, without splitting it. */
function width(v: string): number {
  return ASCII.test(v) ? v.length : [...v].length;
}

const HEADS = ['ID', 'STATUS', 'TYPE', 'PRIORITY', 'AGE', 'FOLDER', 'WAITING ON'];

// Column by column, each cell measured once, each line built in one pass (a person's `list`
// of thousands of tasks spent a tenth of its time here).
function table(rows: TaskRow[]): string {
  const cols: string[][] = [
    rows.map((r) => r.id),
    rows.map((r) => r.status),
    rows.map((r) => r.type ?? '-'),
    rows.map((r) => r.priority),
    rows.map((r) => r.age),
    rows.map((r) => r.folder),
    rows.map((r) => r.waitingOn ?? '-'),
  ];
  const lens = cols.map((c) => c.map(width));
  const widths = HEADS.map((h, c) => lens[c]!.reduce((w, n) => (n > w ? n : w), h.length));
  const last = HEADS.length - 1;
  const spaces: string[] = [];
  const pad = (v: string, len: number, w: number) => (len >= w ? v : v + (spaces[w - len] ??= ' '.repeat(w - len)));
  const out: string[] = new Array(rows.length + 1);
  out[0] = HEADS.map((h, c) => (c === last ? h : pad(h, h.length, widths[c]!))).join('  ');
  for (let r = 0; r < rows.length; r++) {
    let line = '';
    for (let c = 0; c < last; c++) line += `${pad(cols[c]![r]!, lens[c]![r]!, widths[c]!)}  `;
    line += cols[last]![r]!;
    const row = rows[r]!;
    if (row.problem) line += `  ⚠ ${row.problem}`;
    else if (row.status === 'failed' && row.error) line += `  ✗ ${row.error}`;
    out[r + 1] = line;
  }
  return out.join('\n');
}

export const listCommand: Command = {
  name: 'list',
  summary: 'list tasks in Needs_Action/ and Pending_Approval/ with what each waits on',
  usage: 'list [--status <status>] [--all] [--json]',
  help: [
    'One line per task: id, status, type, priority, age, folder and what it waits on',
    '(dependencies, approval, review, a free slot, its working dir, retry backoff, an unavailable',
    'agent, paused, draft); "queued" means ready: the service starts it on its next pass.',
    'Notes that cannot be read or are invalid are listed with their problem.',
    '--all adds the notes in Done/; --json prints an array of objects',
    '{ id, title, status, type, priority, folder, age, ageMs, attempts, waitingOn, wait, dependencies,',
    '  notBefore, problem, error, path } (wait: the structured reason, e.g. { kind: "slot", running, max }).',
    `Statuses: ${STATUSES.join(', ')}.`,
  ].join('\n'),
  options: { status: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(ctx) {
    const { values, io } = ctx;
    const status = typeof values.status === 'string' ? values.status : undefined;
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status ${JSON.stringify(status)} is not a status; use one of ${STATUSES.join(', ')}`);
    }
    const { config, paths, store } = openVault(ctx);
    let rows = await collectTaskRows({ paths, store, config, includeDone: Boolean(values.all) || status === 'done' || status === 'cancelled', now: Date.now() });
    if (status) rows = rows.filter((r) => r.status === status);
    if (values.json) {
      io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    io.stdout.write(rows.length === 0 ? `no tasks${status ? ` with status ${status}` : ''}\n` : `${table(rows)}\n`);
    return 0;
  },
};
