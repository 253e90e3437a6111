// Dashboard.md at the vault root is OUR file: the service rewrites it whole (temp file + rename)
// whenever its content changes. If a person edited it, the next change simply overwrites the edit;
// it is a view, never read back as input. Writes are debounced, and skipped when nothing but the
// "Updated" line would change, so an idle service writes nothing. The work per flush is
// O(active tasks): Done/ and Plans/ are listed only when their directory changed, and Done/ is
// not scanned at all beyond DONE_SCAN_LIMIT notes.
import { readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFile, UnsafePathError } from '../os/safe-open.js';
import { dispatchOrder } from '../domain/dispatch.js';
import type { Task } from '../domain/task.js';
import { healthOf } from '../engine/agent-health.js';
import type { EngineContext } from '../engine/context.js';
import type { RunRegistry } from '../engine/run-registry.js';
import { readinessNow, readinessOf, runningSet, type WaitSources } from '../engine/wait-facts.js';
import { classifyName, classifyPath, isConflictName } from '../vault/ignore-rules.js';
import { linkTarget, TASK_FOLDERS } from '../vault/layout.js';
import { resolveNoteLink } from '../vault/links.js';
import { tempNameFor } from '../vault/note-store.js';
import type { IndexEntry } from '../vault/task-index.js';
import { renderDashboard, stripVolatile, type DashboardData, type DoneItem, type NoteRef, type ProblemItem, type QueueItem } from './render-dashboard.js';

export const DONE_SCAN_LIMIT = 2000;
const RECENT = 10;
/** Queue rows shown (the rest are counted): a burst of thousands would make a note no one reads,
 *  rewritten every second in the person's editor. Every queued task is still judged (its problem
 *  is listed under Problems wherever it stands). */
export const QUEUE_SHOWN = 100;

/** The runs this service has in flight (the shared run machinery, or a stand-in in tests). */
export type RunsView = Pick<RunRegistry, 'all' | 'slots'>;

export interface DashboardOptions {
  ctx: EngineContext;
  /** Defaults to ctx.runs. */
  runs?: RunsView;
  debounceMs?: number;
}

export interface Dashboard {
  /** Ask for a rewrite soon (at most one per `debounceMs`). */
  schedule(): void;
  /** Rewrite now if the content changed; resolves when done. Never rejects (errors are logged). */
  flush(): Promise<void>;
  /** Stop: pending scheduled writes are dropped. */
  close(): void;
}

/** A directory listing that is re-read only when the directory itself changed. */
class DirListing {
  private key = '';
  names: string[] = [];
  changed = false;

  constructor(readonly dir: string) {}

  async refresh(): Promise<void> {
    const st = await stat(this.dir).catch(() => undefined);
    const key = st ? `${st.ino}:${st.mtimeMs}:${st.ctimeMs}` : 'missing';
    this.changed = key !== this.key;
    if (!this.changed) return;
    this.key = key;
    this.names = st ? await readdir(this.dir).catch(() => []) : [];
  }
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  const { ctx } = opts;
  const runs = opts.runs ?? ctx.runs;
  const debounceMs = opts.debounceMs ?? 1000;
  const listings = new Map(TASK_FOLDERS.map((f) => [f, new DirListing(join(ctx.paths.root, f))]));
  let recent: { items: DoneItem[]; note?: string } = { items: [] };
  // Done/ bookkeeping redone only when its listing changed: the count of task notes, and each
  // note's mtime (a finished task adds one name; the others are not stat'ed again).
  let doneCount = 0;
  const doneMtimes = new Map<string, number>();
  // Whether each name in Done/ is a task note: a name's answer never changes (one lookup per write).
  let doneKinds = new Map<string, boolean>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();

  const collect = async (): Promise<DashboardData> => {
    for (const l of listings.values()) await l.refresh();
    const done = listings.get('Done')!;
    if (done.changed) {
      const kinds = new Map<string, boolean>();
      const notes = done.names.filter((n) => {
        const note = doneKinds.get(n) ?? classifyPath(ctx.paths.root, join(ctx.paths.done, n)).kind === 'task-note';
        kinds.set(n, note);
        return note;
      });
      doneKinds = kinds;
      doneCount = notes.length;
      recent = await recentDone(ctx, notes, doneMtimes);
    }
    return collectDashboard(ctx, runs, { listings, recent, doneCount });
  };

  const write = async (): Promise<void> => {
    const data = await collect();
    const text = renderDashboard(data, { updatedAt: ctx.clock.now() });
    const path = ctx.paths.dashboard;
    // Never blocks on a FIFO or follows a link: such a Dashboard.md is just replaced by the rename below.
    const current = (await readRegularFile(path).catch((err: unknown) => {
      if (err instanceof UnsafePathError) return undefined;
      throw err;
    }))?.toString('utf8');
    if (current !== undefined && stripVolatile(current) === stripVolatile(text)) return;
    const tmp = tempNameFor(path);
    try {
      await writeFile(tmp, text, { flag: 'wx' });
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  };

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    // One write at a time, in order.
    chain = chain.then(write).catch((err: unknown) => ctx.logger.warn({ component: 'dashboard', err }, `writing Dashboard.md failed: ${(err as Error).message}`));
    return chain;
  };

  return {
    schedule() {
      if (closed || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void flush();
      }, debounceMs);
      timer.unref();
    },
    flush,
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * The newest notes in Done/ by mtime, with their status; skipped (with a note) for a huge Done/.
 * `mtimes` carries each note's mtime from one listing to the next, so only new names are stat'ed.
 */
async function recentDone(ctx: EngineContext, notes: string[], mtimes: Map<string, number>): Promise<{ items: DoneItem[]; note?: string }> {
  if (notes.length > DONE_SCAN_LIMIT) {
    mtimes.clear();
    return { items: [], note: `Done/ holds ${notes.length} notes; the recent list is skipped to keep the dashboard cheap (sort Done/ by modified time in Obsidian)` };
  }
  const present = new Set(notes);
  for (const name of mtimes.keys()) if (!present.has(name)) mtimes.delete(name);
  const unknown = notes.filter((n) => !mtimes.has(n));
  for (let i = 0; i < unknown.length; i += 64) {
    const batch = await Promise.all(unknown.slice(i, i + 64).map(async (name) => ({ name, at: (await stat(join(ctx.paths.done, name)).catch(() => undefined))?.mtimeMs })));
    for (const b of batch) if (b.at !== undefined) mtimes.set(b.name, b.at);
  }
  const stamped = [...mtimes].map(([name, at]) => ({ name, at }));
  stamped.sort((a, b) => b.at - a.at || a.name.localeCompare(b.name));
  const items: DoneItem[] = [];
  for (const s of stamped.slice(0, RECENT)) {
    const path = join(ctx.paths.done, s.name);
    const read = await ctx.store.read(path).catch(() => undefined);
    const status = read?.ok && typeof read.data.status === 'string' ? read.data.status : undefined;
    items.push({ id: s.name.replace(/\.md$/i, ''), note: linkTarget(ctx.paths, path), status, at: Math.floor(s.at / 60_000) * 60_000 });
  }
  return { items };
}

/** A valid task's entry and its task: a small object (a spread of each entry, once a second
 *  for every active note, was most of what a flush allocated in a burst). */
type Valid = { entry: IndexEntry; id: string; task: Task };

/** Everything the dashboard shows, from the index, the run machinery and cheap cached listings. */
export async function collectDashboard(
  ctx: EngineContext,
  runs: RunsView,
  cache: { listings: ReadonlyMap<string, { dir: string; names: readonly string[] }>; recent: { items: DoneItem[]; note?: string }; doneCount: number },
): Promise<DashboardData> {
  const { index, paths, config } = ctx;
  const now = ctx.clock.now();
  const entries = index.entries();
  const refOf = (e: IndexEntry): NoteRef => ({ id: e.id, note: linkTarget(paths, e.path) });
  const counts: DashboardData['counts'] = {};
  const problems: ProblemItem[] = [];
  const valid: Valid[] = [];
  for (const e of entries) {
    if (e.state.kind === 'task') {
      valid.push({ entry: e, id: e.id, task: e.state.task });
      counts[e.state.task.status] = (counts[e.state.task.status] ?? 0) + 1;
    } else if (e.state.kind === 'invalid') {
      counts.invalid = (counts.invalid ?? 0) + 1;
      problems.push({ ref: refOf(e), text: `invalid task: ${e.state.problems.map((p) => `${p.key} (expected ${p.expected})`).join('; ')}` });
    } else {
      counts.unreadable = (counts.unreadable ?? 0) + 1;
      problems.push({ ref: refOf(e), text: `cannot be read: ${e.state.reason}` });
    }
  }

  const active = runs.all();
  const mine = new Set(active.map((r) => r.taskId));
  const running: DashboardData['running'] = [];
  for (const r of active) {
    const e = index.byId(r.taskId);
    const note = e ? linkTarget(paths, e.path) : linkTarget(paths, r.path);
    const live = r.state === 'starting' ? undefined : r;
    running.push({ id: r.taskId, note, agent: live?.agent.name, attempt: r.kind === 'plan' ? undefined : r.attempt, startedAt: live?.startedAt, transcript: live?.transcript?.link, planning: r.kind === 'plan' });
  }
  for (const v of valid) if (v.task.status === 'executing' && !mine.has(v.id)) running.push({ ...refOf(v.entry), foreign: true });

  // The same readiness the executor dispatches by (engine/wait-facts.ts).
  const sources: WaitSources = { config, index, taskState: ctx.taskState, now, running: runningSet(runs.slots(), config.maxConcurrent), agentHealth: (name: string) => healthOf(ctx, name), dependencyMemo: new Map() };
  const queue: QueueItem[] = [];
  const queued: (Valid & { firstSeen: number })[] = [];
  for (const v of valid) {
    const s = v.task.status;
    if (v.entry.folder === 'Needs_Action' && (s === 'planned' || s === 'new' || s === 'draft') && !mine.has(v.id)) queued.push({ ...v, firstSeen: v.entry.firstSeen });
  }
  let queueMore = 0;
  for (const q of queued.sort(dispatchOrder)) {
    const v = q.entry;
    const verdict = readinessNow(v, sources) ?? (await readinessOf(v, sources));
    if (queue.length >= QUEUE_SHOWN) {
      queueMore++;
      if (verdict.kind === 'problem') problems.push({ ref: refOf(v), text: verdict.problem });
      continue;
    }
    const item: QueueItem = { ...refOf(v), status: q.task.status as QueueItem['status'], priority: q.task.priority, due: q.task.due, state: 'ready' };
    if (verdict.kind === 'ready') item.state = verdict.step === 'plan' ? 'planning' : 'ready';
    else if (verdict.kind === 'problem') {
      Object.assign(item, { state: 'problem', problem: verdict.problem });
      problems.push({ ref: refOf(v), text: verdict.problem });
    } else if (verdict.kind === 'waiting') {
      item.state = 'waiting';
      item.reason = verdict.reason;
      if (verdict.reason.kind === 'dependency') item.waitingOn = await Promise.all(verdict.reason.on.map(async (id) => ({ id, note: await noteOf(ctx, id) })));
    }
    queue.push(item);
  }

  const person: DashboardData['person'] = [];
  for (const v of valid) {
    const s = v.task.status;
    if (s !== 'awaiting_approval' && s !== 'in_review' && s !== 'paused') continue;
    person.push({ ...refOf(v.entry), status: s, plan: await planOf(ctx, v.task) });
  }
  person.sort((a, b) => a.status.localeCompare(b.status) || a.id.localeCompare(b.id));

  const failed = valid
    .filter((v) => v.task.status === 'failed')
    .sort((a, b) => (b.task.finishedAt ?? '').localeCompare(a.task.finishedAt ?? '') || a.id.localeCompare(b.id))
    .slice(0, RECENT);
  const failedItems = await Promise.all(failed.map(async (v) => ({ ...refOf(v.entry), error: v.task.error, finishedAt: v.task.finishedAt, transcript: await runLogOf(ctx, v.task) })));

  for (const [folder, listing] of cache.listings) {
    for (const name of listing.names) {
      // By name (the listing's key is its folder): no path built for each of a burst's notes a flush.
      if (!isConflictName(name) || classifyName(folder, name).kind !== 'conflict-copy') continue;
      const id = name.replace(/\.md$/i, '');
      problems.push({ ref: { id, note: `${folder}/${id}` }, text: 'sync conflict copy: vaultrunner ignores it; merge it into the original by hand, then delete it' });
    }
  }
  for (const name of ctx.agents.names()) {
    const probe = ctx.agents.lastProbe(name);
    if (probe && !probe.ok) problems.push({ text: `agent ${name} cannot be used: ${probe.detail}` });
  }

  running.sort((a, b) => a.id.localeCompare(b.id));
  return { now, counts, doneFolder: cache.doneCount, running, queue, ...(queueMore ? { queueMore } : {}), person, recentDone: cache.recent.items, recentDoneNote: cache.recent.note, failed: failedItems, problems };
}

/** Link target of a dependency's note: the active note, else Done/<id>.md, else none. */
async function noteOf(ctx: EngineContext, id: string): Promise<string | undefined> {
  const e = ctx.index.byId(id);
  if (e) return linkTarget(ctx.paths, e.path);
  const done = join(ctx.paths.done, `${id}.md`);
  return (await exists(done)) ? linkTarget(ctx.paths, done) : undefined;
}

/** The plan note of a task, if it exists (`plan: "[[PLAN_x]]"` → Plans/PLAN_x.md). */
async function planOf(ctx: EngineContext, task: Task): Promise<string | undefined> {
  return existingLink(ctx, task.plan, ctx.paths.plans);
}

async function runLogOf(ctx: EngineContext, task: Task): Promise<string | undefined> {
  return existingLink(ctx, task.runLog, ctx.paths.root);
}

/** Through the one link resolver: only notes that exist inside the vault become links. */
async function existingLink(ctx: EngineContext, raw: string | undefined, dir: string): Promise<string | undefined> {
  if (!raw) return undefined;
  const r = await resolveNoteLink(ctx.paths, raw, dir);
  return r.ok ? linkTarget(ctx.paths, r.path) : undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
