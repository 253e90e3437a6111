// `vaultrunner show <task>`: one task's properties, its instructions and plan, and the end of its
// latest run transcript. Read-only.
import { open, readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { isInside } from '../../domain/links.js';
import { readinessText } from '../../domain/readiness.js';
import { describeProblems } from '../../domain/task.js';
import { offlineWaitSources, readinessOf } from '../../engine/wait-facts.js';
import { UsageError } from '../../errors.js';
import { silentLogger } from '../../log/silent.js';
import type { VaultPaths } from '../../vault/layout.js';
import { resolveNoteLink as resolveLink } from '../../vault/links.js';
import type { NoteStore } from '../../vault/note-store.js';
import { TaskIndex } from '../../vault/task-index.js';
import { TaskStateStore } from '../../vault/task-state.js';
import type { Config } from '../../config/config.js';
import type { Command } from '../command.js';
import { clockTime, findTask, openVault, validated, type FoundTask } from './shared.js';

const SUMMARY_KEYS = [
  'title', 'status', 'type', 'priority', 'due', 'agent', 'model', 'permission_mode', 'working_dir', 'branch', 'blocked_by',
  'requires_review', 'requires_approval', 'approved', 'attempts', 'max_attempts', 'timeout', 'created', 'started_at',
  'finished_at', 'session_id', 'cost_usd', 'error', 'plan', 'run_log',
] as const;
const TAIL_BYTES = 256 * 1024;

/** The vault file a `[[link]]` property points to, through the one link resolver (never outside the vault). */
export async function resolveNoteLink(paths: VaultPaths, raw: unknown, defaultDir?: string): Promise<string | undefined> {
  const r = await resolveLink(paths, raw, defaultDir);
  return r.ok ? r.path : undefined;
}

/** What the task waits on, judged exactly as `list`, Dashboard.md and the executor judge it. */
async function waitLine(found: FoundTask, paths: VaultPaths, store: NoteStore, config: Config): Promise<string | undefined> {
  if (found.folder === 'Done') return undefined;
  const now = Date.now();
  const index = new TaskIndex(store, paths, silentLogger(), () => now);
  await index.scan({ blocking: true, oneShot: true }); // a one-shot read of every note
  const entry = index.getPath(found.path);
  if (!entry || entry.state.kind !== 'task') return undefined;
  const taskState = new TaskStateStore(paths.taskState);
  const verdict = await readinessOf(entry, await offlineWaitSources({ config, paths, index, taskState, now }));
  const text = readinessText(verdict, clockTime);
  return text === null ? undefined : verdict.kind === 'problem' ? `${text}: ${verdict.problem}` : text;
}

/** The latest `Logs/runs/<id>/attempt-<n>.md`, for tasks whose `run_log` is missing. */
async function latestTranscript(paths: VaultPaths, id: string): Promise<string | undefined> {
  const dir = join(paths.runs, id);
  if (!isInside(resolve(dir), paths.runs)) return undefined;
  const names = await readdir(dir).catch(() => [] as string[]);
  const n = names.map((f) => /^attempt-(\d+)\.md$/.exec(f)?.[1]).filter((x): x is string => x !== undefined).map(Number);
  return n.length ? join(dir, `attempt-${Math.max(...n)}.md`) : undefined;
}

/** The last `lines` lines of a file, reading at most its last 256 KiB. */
export async function tailLines(path: string, lines: number): Promise<string> {
  if (lines <= 0) return '';
  const size = (await stat(path)).size;
  const start = Math.max(0, size - TAIL_BYTES);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    let text = buf.toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1); // drop the cut first line
    const all = text.replace(/\n$/, '').split('\n');
    return all.slice(-lines).join('\n');
  } finally {
    await fh.close();
  }
}

function show(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  if (v === null) return '';
  return typeof v === 'string' ? v.replace(/\s*\n\s*/g, ' ') : JSON.stringify(v);
}

export const showCommand: Command = {
  name: 'show',
  summary: "show a task's properties, plan and the end of its latest run transcript",
  usage: 'show <task> [--lines <n>]',
  help: [
    '<task> is the note\'s name (its id), with or without [[ ]] or .md, found in Needs_Action/,',
    'Pending_Approval/ or Done/. Prints the task\'s properties (status, attempts, timestamps, error),',
    'its instructions, its plan note (plan: [[PLAN_<id>]]) and the last --lines (default 40) lines of',
    'its latest run transcript (run_log: Logs/runs/<id>/attempt-<n>). Unknown task: exit 1.',
  ].join('\n'),
  options: { lines: { type: 'string', short: 'n' } },
  positionals: [1, 1],
  async run(ctx) {
    const { io } = ctx;
    const lines = ctx.values.lines === undefined ? 40 : Number(ctx.values.lines);
    if (!Number.isInteger(lines) || lines < 0) throw new UsageError(`--lines ${JSON.stringify(ctx.values.lines)} is not a whole number`);
    const { paths, store, config } = openVault(ctx);
    const found = await findTask(paths, ctx.positionals[0]!);
    const rel = (p: string) => relative(paths.root, p).split('\\').join('/');
    const out: string[] = [`${found.id}  (${rel(found.path)})`];
    const read = await store.read(found.path);
    const v = validated(found.id, read);
    if ('unreadable' in v) {
      out.push(`  problem      unreadable: ${v.unreadable}`, '', 'The note is left untouched until it is fixed.');
      io.stdout.write(`${out.join('\n')}\n`);
      return 0;
    }
    const data = read.ok ? read.data : {};
    for (const key of SUMMARY_KEYS) {
      if (key === 'status' && data.status === undefined) out.push(`  ${'status'.padEnd(17)} new (not set)`);
      else if (data[key] !== undefined && data[key] !== null && data[key] !== '') out.push(`  ${key.padEnd(17)} ${show(data[key])}`);
    }
    if (!v.ok) out.push(`  ${'problem'.padEnd(17)} invalid: ${describeProblems(v.problems)}`);
    const waiting = v.ok ? await waitLine(found, paths, store, config) : undefined;
    if (waiting) out.push(`  ${'waiting'.padEnd(17)} ${waiting}`);

    const body = read.ok ? read.body.replace(/^\s*\n/, '').replace(/\s+$/, '') : '';
    out.push('', '── Task ──', body || '(empty)');

    const plan = (await resolveNoteLink(paths, data.plan, paths.plans)) ?? (await resolveNoteLink(paths, `PLAN_${found.id}`, paths.plans));
    if (plan) {
      const pr = await store.read(plan).catch(() => undefined);
      out.push('', `── Plan: ${rel(plan)} ──`, pr?.ok ? pr.body.replace(/^\s*\n/, '').replace(/\s+$/, '') : `(cannot read: ${pr && !pr.ok ? pr.error.message : 'gone'})`);
    } else {
      out.push('', '── Plan ──', data.plan ? `(${show(data.plan)} does not exist)` : '(not planned yet)');
    }

    const transcript = (await resolveNoteLink(paths, data.run_log)) ?? (await latestTranscript(paths, found.id));
    if (transcript) {
      out.push('', `── Transcript: ${rel(transcript)} (last ${lines} lines) ──`, await tailLines(transcript, lines).catch((e: Error) => `(cannot read: ${e.message})`));
    } else {
      out.push('', '── Transcript ──', '(no run yet)');
    }
    io.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
};
