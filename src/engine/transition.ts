// Every status change goes through here, whoever makes it (an engine component, or a person via
// the CLI): checked against the domain's rules, written with compare-and-swap (a person's newer
// edit wins), logged as `task: from → to (actor)`, and emitted as a `task:transition` event.
import type { Logger } from 'pino';
import { assertTransition, noteStatus, type Actor, type Status } from '../domain/status.js';
import type { FieldEdits } from '../vault/frontmatter.js';
import type { NoteSnapshot, NoteStore } from '../vault/note-store.js';
import type { EngineEvents } from './events.js';

/**
 * What this process wrote to each task's note: the content hash of its last write, and the
 * statuses of writes still in flight (the index may read our new note before the write returns).
 */
export class OwnWrites {
  private readonly last = new Map<string, string>();
  private readonly pending = new Map<string, Status[]>();
  begin(taskId: string, to: Status): void {
    this.pending.set(taskId, [...(this.pending.get(taskId) ?? []), to]);
  }
  end(taskId: string, to: Status): void {
    const left = (this.pending.get(taskId) ?? []).filter((s, i, all) => s !== to || all.indexOf(to) !== i);
    if (left.length) this.pending.set(taskId, left);
    else this.pending.delete(taskId);
  }
  record(taskId: string, hash: string): void {
    this.last.set(taskId, hash);
  }
  isOurs(taskId: string, hash: string, status?: Status): boolean {
    return this.last.get(taskId) === hash || (status !== undefined && (this.pending.get(taskId) ?? []).includes(status));
  }
}

export interface TransitionSink {
  store: NoteStore;
  logger: Logger;
  events?: EngineEvents;
  ownWrites?: OwnWrites;
}

export interface TransitionRequest {
  path: string;
  taskId: string;
  /** The status the caller believes the note has; if it has another, nothing is written. */
  from: Status | readonly Status[];
  to: Status;
  actor: Actor;
  edits?: FieldEdits;
  /** Checked on the note as read just before the write; false means "not this note any more". */
  guard?: (data: Record<string, unknown>) => boolean;
  /** Extra fields for the log line. */
  log?: Record<string, unknown>;
  /** Text to append to the body in the same write, decided on the body as read (e.g. `## Result`). */
  append?: (body: string) => string | undefined;
  /** A write that must be on disk first (the plan note `planned` links to); see NoteStore.replace. */
  after?: Promise<unknown>;
}

export { noteStatus };

/** Returns the written snapshot, or null when the note's status was no longer `from`. */
export async function transition(sink: TransitionSink, req: TransitionRequest): Promise<NoteSnapshot | null> {
  const froms = typeof req.from === 'string' ? [req.from] : req.from;
  const r = await decideAndWrite(sink, req.path, req.taskId, req.actor, (data, from) => {
    if (!from || !froms.includes(from)) return null;
    if (req.guard && !req.guard(data)) return null;
    return { to: req.to, edits: req.edits, append: req.append };
  }, req.log, req.after);
  if (!r) sink.logger.debug({ component: req.actor, task: req.taskId, expected: froms, to: req.to }, 'transition skipped: status changed meanwhile');
  return r?.note ?? null;
}

export type Decision = { to?: Status; edits?: FieldEdits; append?: (body: string) => string | undefined } | null;

/**
 * The general form: `decide` sees the note as it is just before the write (and its status) and
 * returns the new status and other edits, or null to write nothing. Used directly by the CLI,
 * whose decision depends on what the note says.
 */
export async function decideAndWrite(
  sink: TransitionSink,
  path: string,
  taskId: string,
  actor: Actor,
  decide: (data: Record<string, unknown>, from: Status | undefined) => Decision,
  log?: Record<string, unknown>,
  after?: Promise<unknown>,
): Promise<{ note: NoteSnapshot; from: Status | undefined; to?: Status } | null> {
  let from: Status | undefined;
  let to: Status | undefined;
  let reason: string | undefined;
  const begun: Status[] = [];
  let r;
  try {
    r = await sink.store.updateNote(path, (data, _note, body) => {
      from = noteStatus(data);
      const d = decide(data, from);
      to = d?.to;
      if (!d) return null;
      reason = typeof d.edits?.error === 'string' ? d.edits.error : undefined;
      if (to !== undefined && from !== undefined && to !== from) assertTransition(from, to, actor);
      if (to !== undefined && to !== from) {
        sink.ownWrites?.begin(taskId, to); // before the rename: the index may see it at once
        begun.push(to);
      }
      const edits = to !== undefined && to !== from ? { ...d.edits, status: to } : d.edits;
      const append = d.append?.(body);
      return edits || append ? { edits: edits ?? {}, ...(append ? { append } : {}) } : null;
    }, undefined, { after });
    if (r) sink.ownWrites?.record(taskId, r.note.hash);
  } finally {
    for (const s of begun) sink.ownWrites?.end(taskId, s);
  }
  if (!r) return null;
  if (to !== undefined && from !== undefined && to !== from) {
    const component = actor === 'person' ? 'cli' : actor;
    sink.logger.info({ component, actor, task: taskId, from, to, ...log }, `${taskId}: ${from} → ${to}${actor === 'person' ? ' (person)' : ''}`);
    sink.events?.emit('task:transition', { taskId, from, to, actor, component, ...(reason ? { reason } : {}) });
  }
  return { note: r.note, from, to };
}

/** Edit non-status keys (e.g. `error`, `session_id`) only if the status is still one of `when`. */
export async function editIfStatus(sink: Pick<TransitionSink, 'store' | 'ownWrites'>, path: string, taskId: string, when: readonly Status[], edits: FieldEdits): Promise<boolean> {
  const r = await sink.store.update(path, (data) => {
    const s = noteStatus(data);
    return s && when.includes(s) ? edits : null;
  });
  if (r) sink.ownWrites?.record(taskId, r.note.hash);
  return r !== null;
}
