// Every status change goes through here: checked against the transition rules, written with
// compare-and-swap (a person's newer edit wins), and logged with task, from, to and component.
import type { Logger } from 'pino';
import type { FieldEdits } from '../vault/frontmatter.js';
import type { NoteSnapshot, NoteStore } from '../vault/note-store.js';
import { assertTransition, STATUSES, type Actor, type Status } from './status.js';

export interface TransitionRequest {
  path: string;
  taskId: string;
  /** The status the caller believes the note has; if it has another, nothing is written. */
  from: Status | readonly Status[];
  to: Status;
  actor: Exclude<Actor, 'person'>;
  edits?: FieldEdits;
  /** Checked on the note as read just before the write; false means "not this note any more". */
  guard?: (data: Record<string, unknown>) => boolean;
  /** Extra fields for the log line. */
  log?: Record<string, unknown>;
}

export function noteStatus(data: Record<string, unknown>): Status | undefined {
  const s = data.status ?? 'new';
  return (STATUSES as readonly unknown[]).includes(s) ? (s as Status) : undefined;
}

/** Returns the written snapshot, or null when the note's status was no longer `from`. */
export async function transition(store: NoteStore, logger: Logger, req: TransitionRequest): Promise<NoteSnapshot | null> {
  const froms = typeof req.from === 'string' ? [req.from] : req.from;
  let from: Status | undefined;
  const r = await store.update(req.path, (data) => {
    from = noteStatus(data);
    if (!from || !froms.includes(from)) return null;
    if (req.guard && !req.guard(data)) return null;
    assertTransition(from, req.to, req.actor);
    return { ...req.edits, status: req.to };
  });
  if (!r) {
    logger.debug({ component: req.actor, task: req.taskId, expected: froms, found: from, to: req.to }, 'transition skipped: status changed meanwhile');
    return null;
  }
  logger.info({ component: req.actor, task: req.taskId, from, to: req.to, ...req.log }, `${req.taskId}: ${from} → ${req.to}`);
  return r.note;
}

/** Edit non-status keys (e.g. `error`, `session_id`) only if the status is still one of `when`. */
export async function editIfStatus(store: NoteStore, path: string, when: readonly Status[], edits: FieldEdits): Promise<boolean> {
  const r = await store.update(path, (data) => {
    const s = noteStatus(data);
    return s && when.includes(s) ? edits : null;
  });
  return r !== null;
}
