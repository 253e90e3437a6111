// The web ports on the running service: its index, note store, task state, live runs (ctx.runs)
// and typed engine events (ctx.events); readiness from engine/wait-facts, as `list` has it.
// Nothing else in src/web knows these modules.
import { lstat, realpath, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { obsidianDateTime } from '../clock.js';
import type { Config } from '../config/config.js';
import { NoteGoneError } from '../errors.js';
import { isInside } from '../executor/workspace.js';
import { readinessText } from '../domain/readiness.js';
import { recordPersonApproval } from '../engine/approval.js';
import type { EngineEvents } from '../engine/events.js';
import { offlineWaitSources, readinessOf as judge, type WaitSources } from '../engine/wait-facts.js';
import { PRIORITIES } from '../lifecycle/status.js';
import type { IndexEntry, TaskIndex } from '../lifecycle/task-index.js';
import type { TaskStateStore } from '../lifecycle/task-state.js';
import { describeProblems, validateTask } from '../lifecycle/task.js';
import { noteStatus } from '../engine/transition.js';
import { readRegularFile } from '../os/safe-open.js';
import { applyEdits } from '../vault/frontmatter.js';
import type { VaultPaths } from '../vault/layout.js';
import { parseSnapshot, type NoteRead, type NoteStore } from '../vault/note-store.js';
// The CLI's edit decisions and note rendering are the shared rules until the domain layer holds them.
import { decideEdit } from '../domain/person-edits.js';
import { renderNewTask, unsafeTitleReason } from '../vault/new-note.js';
import {
  WebConflictError, WebNotFoundError, WebRefusedError,
  type ActionResult, type AttemptView, type CreateLimits, type NewTaskInput, type ReadModelEvent, type ReadinessView,
  type TaskAction, type TaskDetailView, type TaskFolderName, type TaskRowView, type WebActions, type WebReadModel,
} from './ports.js';
import { rootNames } from './redact.js';
import { diffFence, parseUnifiedDiff } from './diff-view.js';

export interface ServiceAdapterDeps {
  config: Config;
  paths: VaultPaths;
  store: NoteStore;
  index: TaskIndex;
  taskState: TaskStateStore;
  /** The runs this service has in flight (ctx.runs.all()). */
  runs?: () => readonly { taskId: string; attempt: number; agent?: { name: string } }[];
  /** The engine's events (ctx.events): a run starting or ending updates its card at once. */
  events?: EngineEvents;
  now?: () => number;
}

const MAX_BODY = 256 * 1024;
const MAX_FEEDBACK = 20_000;
const PATCH_MAX = 4 * 1024 * 1024;
const DIFF_LINES_MAX = 10_000;

export function createServiceAdapter(deps: ServiceAdapterDeps): WebReadModel & WebActions {
  const { config, paths, store, index } = deps;
  const now = deps.now ?? Date.now;
  const runs = deps.runs ?? (() => []);
  const names = rootNames(config.workspaceRoots);
  const listeners = new Set<(e: ReadModelEvent) => void>();
  const lastStatus = new Map<string, string>();
  const emit = (e: ReadModelEvent) => {
    for (const l of listeners) l(e);
  };
  const liveRun = (id: string) => runs().find((r) => r.taskId === id);

  const rowOfEntry = async (e: IndexEntry): Promise<TaskRowView> => {
    const data = e.state.kind === 'unreadable' ? undefined : e.state.data;
    const row = baseRow(e.id, e.folder, data, e.firstSeen, e.hash);
    if (e.state.kind === 'unreadable') return { ...row, status: '?', readiness: { kind: 'problem', reason: `unreadable: ${e.state.reason}` } };
    if (e.state.kind === 'invalid') return { ...row, status: e.state.status, readiness: { kind: 'problem', reason: `invalid: ${describeProblems(e.state.problems)}` } };
    const t = e.state.task;
    const run = liveRun(e.id);
    row.agent = run?.agent?.name ?? t.agent ?? config.agent;
    row.readiness = await readinessOf(e);
    return row;
  };

  // The one readiness function (domain/readiness.ts), fed by the same fact gatherer as `list`.
  // Gathered once per board refresh, not once per row (it lists the leases on disk).
  let gathered: { at: number; sources: Promise<WaitSources> } | undefined;
  const waitSources = () => {
    const t = now();
    if (!gathered || t - gathered.at > 250) gathered = { at: t, sources: offlineWaitSources({ config, paths, index, taskState: deps.taskState, now: t }) };
    return gathered.sources;
  };
  const readinessOf = async (e: IndexEntry): Promise<ReadinessView> => {
    const r = await judge(e, await waitSources());
    const text = readinessText(r, clock) ?? '';
    switch (r.kind) {
      case 'ready':
        return { kind: 'ready', reason: text };
      case 'problem':
        return { kind: 'problem', reason: r.problem };
      case 'waiting':
      case 'running':
        return { kind: 'waiting', reason: r.kind === 'running' && liveRun(e.id) ? `running attempt ${liveRun(e.id)!.attempt}` : text };
      default:
        return { kind: 'none', reason: e.state.kind === 'task' && e.state.task.status === 'failed' ? (e.state.task.error ?? 'failed') : '' };
    }
  };

  // Done/ may hold thousands of notes: listed when its directory changed, the newest few read.
  let doneKey = '';
  let doneNames: { name: string; mtimeMs: number }[] = [];
  const doneListing = async () => {
    const st = await stat(paths.done).catch(() => undefined);
    const key = st ? `${st.ino}:${st.mtimeMs}` : 'missing';
    if (key !== doneKey) {
      doneKey = key;
      const all = (await readdir(paths.done).catch(() => [] as string[])).filter((n) => n.toLowerCase().endsWith('.md') && !n.startsWith('.'));
      const stamped = await Promise.all(all.map(async (name) => ({ name, mtimeMs: (await stat(join(paths.done, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
      doneNames = stamped.sort((a, b) => b.mtimeMs - a.mtimeMs || a.name.localeCompare(b.name));
    }
    return doneNames;
  };
  const doneRow = async (id: string): Promise<TaskRowView | undefined> => {
    const path = join(paths.done, `${id}.md`);
    const read = await store.read(path).catch(() => undefined);
    if (!read) return undefined;
    const born = await stat(path).then((s) => s.birthtimeMs || s.mtimeMs, () => undefined);
    return rowOfRead(id, 'Done', read, born);
  };

  const find = (id: string): { path: string; folder: TaskFolderName } | undefined => {
    if (!validId(id)) return undefined;
    const e = index.byId(id);
    if (e) return { path: e.path, folder: e.folder };
    return { path: join(paths.done, `${id}.md`), folder: 'Done' };
  };

  const noteLink = (raw: unknown, dir: string, fallback: string): string | undefined => {
    const target = typeof raw === 'string' && raw.trim() ? raw.trim().replace(/^\[\[|\]\]$/g, '').split('|')[0]!.split('#')[0]!.trim() : fallback;
    if (!target) return undefined;
    const file = /\.md$/i.test(target) ? target : `${target}.md`;
    const path = normalize(join(target.includes('/') ? paths.root : dir, file));
    return isInside(path, paths.root) ? path : undefined; // a person may edit the link: never read outside the vault
  };
  const readBody = async (path: string | undefined) => {
    if (!path) return null;
    // Plans and reviews are ours or a person's notes, not tasks: a note without frontmatter is all body.
    const snap = await store.snapshot(path).catch((err: unknown) => (err instanceof NoteGoneError ? undefined : (err as Error)));
    if (!snap) return null;
    if (snap instanceof Error) return { path: rel(paths, path), body: `(cannot read: ${snap.message})` };
    const r = parseSnapshot(snap);
    return { path: rel(paths, path), body: r.ok ? r.body : snap.text.trim() === '' || !snap.text.startsWith('---') ? snap.text : `(cannot read: ${r.error.message})` };
  };

  // The review note and its diff as data: from the full `.patch` the pipeline writes beside the
  // note when there is one (never through a link, bounded), else from the note's own diff fence.
  const reviewOf = async (path: string | undefined): Promise<Pick<TaskDetailView, 'review' | 'diff'>> => {
    const review = await readBody(path);
    if (!path || !review) return { review, diff: null };
    const patch = path.replace(/\.md$/i, '.patch');
    let text: string | undefined;
    let source = review.path;
    let note: string | null = null;
    const st = await lstat(patch).catch(() => undefined);
    if (st && (!st.isFile() || st.size > PATCH_MAX)) note = `${rel(paths, patch)} is ${st.isFile() ? `larger than ${PATCH_MAX / 1024 / 1024} MB` : 'not a regular file'}; the diff in the review note is shown`;
    else if (st) {
      const bytes = await readRegularFile(patch, { maxBytes: PATCH_MAX }).catch(() => undefined);
      if (bytes) ((text = bytes.toString('utf8')), (source = rel(paths, patch)));
    }
    text ??= diffFence(review.body);
    if (text === undefined) return { review, diff: null };
    const parsed = parseUnifiedDiff(text, DIFF_LINES_MAX);
    return { review, diff: parsed.files.length ? { source, note, ...parsed } : null };
  };

  const attemptsOf = async (id: string): Promise<AttemptView[]> => {
    const dir = join(paths.runs, id);
    const files = await readdir(dir).catch(() => [] as string[]);
    const run = liveRun(id);
    const out: AttemptView[] = [];
    for (const f of files) {
      const m = /^attempt-(\d+)\.md$/.exec(f);
      if (!m) continue;
      const st = await stat(join(dir, f)).catch(() => undefined);
      if (!st?.isFile()) continue;
      out.push({ n: Number(m[1]), bytes: st.size, mtimeMs: st.mtimeMs, live: run?.attempt === Number(m[1]) });
    }
    return out.sort((a, b) => a.n - b.n);
  };

  const emitEntry = async (e: IndexEntry) => {
    const row = await rowOfEntry(e);
    const before = lastStatus.get(e.id);
    lastStatus.set(e.id, row.status);
    emit({ kind: 'task', row });
    if (before !== undefined && before !== row.status) emit({ kind: 'transition', transition: { id: e.id, from: before, to: row.status, reason: row.error } });
    // Tasks waiting on this one may have become ready (or blocked).
    for (const other of index.entries()) {
      if (other.id !== e.id && other.state.kind === 'task' && other.state.task.blockedBy.includes(e.id)) emit({ kind: 'task', row: await rowOfEntry(other) });
    }
  };
  const onChange = (e: IndexEntry) => void emitEntry(e).catch(() => undefined);
  // A run's start or end changes the card (agent, "running attempt n", the live attempt) without
  // any note being written; the engine says so, nothing is polled.
  const onRun = (r: { taskId: string }) => {
    const e = index.byId(r.taskId);
    if (e) onChange(e);
  };
  let offRuns: (() => void)[] = [];
  const onRemove = (e: IndexEntry) =>
    void (async () => {
      if (index.byId(e.id)) return; // moved between the active folders: the change event covers it
      emit({ kind: 'remove', id: e.id });
      const row = await doneRow(e.id);
      const before = lastStatus.get(e.id);
      lastStatus.delete(e.id);
      if (!row) return;
      emit({ kind: 'task', row });
      if (before !== undefined && before !== row.status) emit({ kind: 'transition', transition: { id: e.id, from: before, to: row.status, reason: row.error } });
    })().catch(() => undefined);

  const ensureFound = (id: string) => {
    const f = find(id);
    if (!f) throw new WebNotFoundError(`no task named ${JSON.stringify(id)}`);
    return f;
  };

  return {
    async listTasks(opts = {}) {
      // Concurrently: a cold pass stats each task's state file, and those stats overlap.
      const rows = await Promise.all(index.entries().map(rowOfEntry));
      for (const row of rows) lastStatus.set(row.id, row.status);
      const done = await doneListing();
      const limit = opts.doneLimit ?? 100;
      for (const d of done.slice(0, limit)) {
        const row = await doneRow(d.name.replace(/\.md$/i, ''));
        if (row) rows.push(row);
      }
      return { rows, doneTotal: done.length };
    },

    async getTask(id) {
      const f = find(id);
      if (!f) return undefined;
      let read: NoteRead;
      try {
        read = await store.read(f.path);
      } catch (err) {
        if (err instanceof NoteGoneError) return undefined;
        throw err;
      }
      const e = index.getPath(f.path);
      const born = e?.firstSeen ?? (await stat(f.path).then((s) => s.birthtimeMs || s.mtimeMs, () => undefined));
      const row = e ? await rowOfEntry(e) : rowOfRead(id, f.folder, read, born);
      const data = read.ok ? read.data : {};
      const v = read.ok ? validateTask(id, read.data) : undefined;
      return {
        row,
        frontmatter: JSON.parse(JSON.stringify(data)) as Record<string, unknown>,
        body: read.ok ? read.body : '',
        notePath: rel(paths, f.path),
        plan: await readBody(noteLink(data.plan, paths.plans, `PLAN_${id}`)),
        ...(await reviewOf(noteLink(data.review, join(paths.root, 'Reviews'), `Reviews/${id}`))),
        attempts: await attemptsOf(id),
        problem: !read.ok ? `unreadable: ${read.error.message}` : v && !v.ok ? `invalid: ${describeProblems(v.problems)}` : null,
      } satisfies TaskDetailView;
    },

    transcriptPath(id, attempt) {
      if (!validId(id) || !Number.isInteger(attempt) || attempt < 1) return undefined;
      return join(paths.runs, id, `attempt-${attempt}.md`);
    },

    subscribe(listener) {
      if (listeners.size === 0) {
        // Known statuses first, so the first change of each task after this is a transition too.
        for (const e of index.entries()) if (!lastStatus.has(e.id)) lastStatus.set(e.id, e.state.kind === 'task' ? e.state.task.status : e.state.kind === 'invalid' ? e.state.status : '?');
        index.on('change', onChange);
        index.on('remove', onRemove);
        if (deps.events) offRuns = [deps.events.on('run:start', onRun), deps.events.on('run:end', onRun)];
      }
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          index.off('change', onChange);
          index.off('remove', onRemove);
          for (const off of offRuns.splice(0)) off();
        }
      };
    },

    limits(): CreateLimits {
      return { types: config.executorTypes, priorities: PRIORITIES, roots: names };
    },

    async create(input: NewTaskInput): Promise<ActionResult> {
      const title = String(input.title ?? '').trim();
      const why = unsafeTitleReason(title);
      if (why) throw new WebRefusedError(`cannot use ${JSON.stringify(title.slice(0, 140))} as a task name: ${why}`);
      // The page can only ask for less than the operator allows: whitelisted types, a root's sub-directory.
      if (!config.executorTypes.includes(input.type)) throw new WebRefusedError(`type ${JSON.stringify(input.type)} is not on the operator's whitelist (${config.executorTypes.join(', ') || 'empty'}); create it in Obsidian, it then waits for approval`);
      const priority = input.priority || 'medium';
      if (!(PRIORITIES as readonly string[]).includes(priority)) throw new WebRefusedError(`priority must be one of ${PRIORITIES.join(', ')}`);
      const body = String(input.body ?? '');
      if (Buffer.byteLength(body) > MAX_BODY) throw new WebRefusedError(`the body is larger than ${MAX_BODY} bytes`);
      const workingDir = await workingDirFor(config, names, input.root, input.dir);
      for (const dir of [paths.needsAction, paths.pendingApproval, paths.done]) {
        const taken = (await readdir(dir).catch(() => [] as string[])).some((n) => n.toLowerCase() === `${title}.md`.toLowerCase());
        if (taken) throw new WebRefusedError(`a task named ${JSON.stringify(title)} already exists; pick another title`);
      }
      const text = renderNewTask({ title, type: input.type, priority, blockedBy: [], workingDir, created: obsidianDateTime(now()) }, body.replace(/\u0000/g, ''));
      const parsed = parseSnapshot({ path: '', text, stamp: { size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0 }, hash: '' });
      const v = validateTask(title, parsed.ok ? parsed.data : {});
      if (!v.ok) throw new WebRefusedError(`the task would be invalid: ${describeProblems(v.problems)}`);
      try {
        const snap = await store.create(join(paths.needsAction, `${title}.md`), text);
        return { id: title, message: `created Needs_Action/${title}.md`, version: snap.hash };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new WebRefusedError(`a task named ${JSON.stringify(title)} already exists; pick another title`);
        throw err;
      }
    },

    async act(id: string, action: TaskAction, opts: { version?: string; feedback?: string }): Promise<ActionResult> {
      const f = ensureFound(id);
      const conflict = () =>
        new WebConflictError(`${id} was changed (in Obsidian or by the service) after this page showed it; nothing was written. Look at the note as it is now and try again.`);
      if (action === 'sendBack') return sendBack(id, f.path, opts, conflict);
      let message = '';
      let stale = false;
      let attemptsSoFar = 0;
      // A person's approval is recorded before the note says approved: true (see recordApproval).
      const undo = action === 'approve' ? await recordApproval(id, f.path) : undefined;
      let r;
      try {
        r = await store.update(f.path, (data, note) => {
          attemptsSoFar = typeof data.attempts === 'number' && Number.isInteger(data.attempts) && data.attempts > 0 ? data.attempts : 0;
          if (opts.version && note.hash !== opts.version) {
            stale = true;
            return null;
          }
          if (action === 'acceptReview') {
            if (noteStatus(data) !== 'in_review') {
              message = `cannot accept ${id}: it is ${String(data.status ?? 'new')}, not in_review`;
              return null;
            }
            return { status: 'done' };
          }
          const d = decideEdit(action, id, data, f.folder);
          if (d.kind === 'refuse' || d.kind === 'noop') {
            message = d.message;
            return null;
          }
          // The decision names the new status apart from the other keys.
          return d.to !== undefined ? { ...d.edits, status: d.to } : d.edits;
        });
      } catch (err) {
        await undo?.();
        if (err instanceof NoteGoneError) throw new WebConflictError(`${id} was moved or deleted meanwhile; nothing was written`, { cause: err });
        if ((err as { code?: string }).code === 'NOTE_CHANGED') throw conflict();
        throw err;
      }
      if (stale || !r) await undo?.();
      if (stale) throw conflict();
      if (!r) throw new WebRefusedError(message || `cannot ${action} ${id} now`);
      let version: string | null = r.note.hash;
      if (action === 'retry') {
        await deps.taskState.startCycle(id, attemptsSoFar);
        if (f.folder === 'Done') {
          await store.move(f.path, paths.needsAction);
          version = null;
        }
      }
      return { id, message: `${id}: ${action === 'acceptReview' ? 'accepted, now done' : VERB[action]}`, version };
    },
  };

  /** A person's approval, for the content as it is now (engine/approval.ts), recorded before the
   *  note says approved: true; returns how to take it back when nothing was written. */
  async function recordApproval(id: string, path: string): Promise<(() => Promise<void>) | undefined> {
    const read = await store.read(path).catch(() => undefined);
    const v = read?.ok ? validateTask(id, read.data) : undefined;
    return read?.ok && v?.ok ? recordPersonApproval(deps.taskState, id, v.task, read.body) : undefined;
  }

  async function sendBack(id: string, path: string, opts: { version?: string; feedback?: string }, conflict: () => Error): Promise<ActionResult> {
    const feedback = String(opts.feedback ?? '').replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f]/g, '').trim();
    if (!feedback) throw new WebRefusedError('write the feedback first: it goes under ## Feedback in the note, for the agent to follow');
    if (feedback.length > MAX_FEEDBACK) throw new WebRefusedError(`feedback is longer than ${MAX_FEEDBACK} characters`);
    for (let i = 0; i < 4; i++) {
      const read = await store.read(path).catch((err: unknown) => {
        if (err instanceof NoteGoneError) throw new WebConflictError(`${id} was moved or deleted meanwhile; nothing was written`, { cause: err });
        throw err;
      });
      if (!read.ok) throw new WebRefusedError(`${id} cannot be read (${read.error.message}); fix it in Obsidian first`);
      if (opts.version && read.note.hash !== opts.version) throw conflict();
      if (noteStatus(read.data) !== 'in_review') throw new WebRefusedError(`cannot send ${id} back: it is ${String(read.data.status ?? 'new')}, not in_review`);
      const text = applyEdits(withFeedback(read.note.text, feedback), { status: 'planned' });
      const written = await store.replace(path, text, read.note);
      if (written) return { id, message: `${id}: sent back with feedback, now planned`, version: written.hash };
      if (opts.version) throw conflict();
    }
    throw conflict();
  }
}

const VERB: Record<Exclude<TaskAction, 'sendBack' | 'acceptReview'>, string> = { pause: 'paused', resume: 'resumed', cancel: 'cancelled', retry: 'queued again (attempts reset)', approve: 'approved' };

/** The feedback appended under `## Feedback` (the section is added at the end when missing). */
export function withFeedback(text: string, feedback: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const block = feedback.split('\n').join(eol);
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((l) => /^##\s+Feedback\s*$/i.test(l));
  if (at < 0) return `${text}${text.endsWith('\n') ? '' : eol}${eol}## Feedback${eol}${eol}${block}${eol}`;
  let end = lines.length;
  for (let i = at + 1; i < lines.length; i++) if (/^#{1,2}\s/.test(lines[i]!)) { end = i; break; }
  while (end > at + 1 && lines[end - 1] === '') end--;
  lines.splice(end, 0, '', ...block.split(eol));
  return lines.join(eol);
}

async function workingDirFor(config: Config, names: readonly string[], root: number | undefined, dir: string | undefined): Promise<string | undefined> {
  const sub = String(dir ?? '').trim();
  if (root === undefined || root === null) {
    if (sub) throw new WebRefusedError('choose the workspace root the directory lies in');
    return undefined; // a scratch folder inside .vaultrunner/
  }
  const base = config.workspaceRoots[root];
  if (base === undefined) throw new WebRefusedError(`no workspace root number ${root}; the operator allows ${names.join(', ') || 'none (WORKSPACE_ROOTS is empty)'}`);
  if (isAbsolute(sub) || sub.split(/[\\/]/).includes('..')) throw new WebRefusedError('the directory must be relative to the workspace root, without ".."');
  let real: string;
  try {
    real = await realpath(join(base, sub));
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new WebRefusedError(`${names[root]}/${sub} is not an existing directory`);
  }
  // Symlinks resolved: a link inside the root cannot point the agent elsewhere.
  if (!isInside(real, await realpath(base))) throw new WebRefusedError(`${names[root]}/${sub} leads outside the workspace root`);
  return real;
}

function baseRow(id: string, folder: TaskFolderName, data: Record<string, unknown> | undefined, bornMs: number | undefined, version: string): TaskRowView {
  return {
    id,
    title: typeof data?.title === 'string' ? data.title : null,
    status: typeof data?.status === 'string' ? data.status : data ? 'new' : '?',
    type: typeof data?.type === 'string' ? data.type : null,
    folder,
    priority: typeof data?.priority === 'string' ? data.priority : 'medium',
    createdMs: localTime(data?.created) ?? bornMs ?? null,
    agent: typeof data?.agent === 'string' ? data.agent : null,
    attempts: typeof data?.attempts === 'number' ? data.attempts : 0,
    costUsd: typeof data?.cost_usd === 'number' ? data.cost_usd : null,
    readiness: { kind: 'none', reason: '' },
    error: typeof data?.error === 'string' ? data.error : null,
    version,
  };
}

function rowOfRead(id: string, folder: TaskFolderName, read: NoteRead, born: number | undefined): TaskRowView {
  const row = baseRow(id, folder, read.ok ? read.data : undefined, born, read.note?.hash ?? '');
  if (!read.ok) return { ...row, status: '?', readiness: { kind: 'problem', reason: `unreadable: ${read.error.message}` } };
  if (folder === 'Done' && read.data.status === undefined) row.status = 'done'; // filed by hand
  if (row.status === 'failed') row.readiness = { kind: 'none', reason: row.error ?? 'failed' };
  return row;
}

function validId(id: string): boolean {
  return id !== '' && id !== '.' && id !== '..' && !/[\\/\0]/.test(id) && !id.startsWith('.');
}

function rel(paths: VaultPaths, file: string): string {
  return file.slice(paths.root.length + 1).split(sep).join('/');
}

function clock(ms: number): string {
  return obsidianDateTime(ms).slice(11);
}

function localTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v.trim());
  if (!m) return undefined;
  const t = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)).getTime();
  return Number.isNaN(t) ? undefined : t;
}
