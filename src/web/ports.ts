// The narrow ports the web layer is built against. Everything the page shows comes from a
// WebReadModel; everything it changes goes through WebActions. Today `service-adapter.ts`
// implements both on the index, the note store and the executor; the engine's read model
// replaces that one file later. No type here carries an absolute path outside the vault.
import { VaultrunnerError } from '../errors.js';
import type { ParsedDiff } from './diff-view.js';

/** Why a task is (not) moving, as `list` and Dashboard.md say it. */
export interface ReadinessView {
  /** ready: would run now given a slot; waiting: on something named in `reason`;
   *  problem: can never start as it is; none: nothing left to wait for (done, failed, cancelled). */
  kind: 'ready' | 'waiting' | 'problem' | 'none';
  reason: string;
}

export type TaskFolderName = 'Needs_Action' | 'Pending_Approval' | 'Done';

export interface TaskRowView {
  id: string;
  title: string | null;
  /** A status, or '?' for a note that cannot be read. */
  status: string;
  type: string | null;
  folder: TaskFolderName;
  priority: string;
  /** Epoch ms of `created` (else when the note was first seen); null when unknown. */
  createdMs: number | null;
  agent: string | null;
  attempts: number;
  costUsd: number | null;
  readiness: ReadinessView;
  /** The note's `error` property. */
  error: string | null;
  /** Content hash of the note as read: actions send it back to detect a newer edit. */
  version: string;
}

export interface AttemptView {
  n: number;
  /** Bytes of the attempt's Markdown transcript so far. */
  bytes: number;
  mtimeMs: number;
  /** This service is running this attempt now. */
  live: boolean;
}

export interface TaskDetailView {
  row: TaskRowView;
  /** The frontmatter as written (JSON-safe values), in the note's key order. */
  frontmatter: Record<string, unknown>;
  body: string;
  /** Vault-relative path of the note, e.g. `Needs_Action/x.md`. */
  notePath: string;
  plan: { path: string; body: string } | null;
  review: { path: string; body: string } | null;
  /** The review's diff, parsed for a unified or side-by-side view (the page lays it out). */
  diff: ReviewDiffView | null;
  attempts: AttemptView[];
  problem: string | null;
}

export interface ReviewDiffView extends ParsedDiff {
  /** Vault-relative file it was read from: the full `.patch`, else the review note. */
  source: string;
  /** Why the full patch was not used, when it exists but was not. */
  note: string | null;
}

export interface TransitionView {
  id: string;
  from: string | null;
  to: string;
  reason: string | null;
}

export type ReadModelEvent =
  | { kind: 'task'; row: TaskRowView }
  | { kind: 'remove'; id: string }
  | { kind: 'transition'; transition: TransitionView };

export interface BoardOptions {
  /** Newest notes of Done/ to include (Done/ itself may hold thousands). */
  doneLimit: number;
}

export interface WebReadModel {
  listTasks(opts?: Partial<BoardOptions>): Promise<{ rows: TaskRowView[]; doneTotal: number }>;
  getTask(id: string): Promise<TaskDetailView | undefined>;
  /** Absolute path of an attempt's transcript (server side only; never sent to the browser). */
  transcriptPath(id: string, attempt: number): string | undefined;
  /** Changes as they happen; returns the unsubscribe function. */
  subscribe(listener: (e: ReadModelEvent) => void): () => void;
  /** What the new-task form may offer: only what the operator allows. */
  limits(): CreateLimits;
}

export interface CreateLimits {
  types: readonly string[];
  priorities: readonly string[];
  /** Workspace roots by display name (the basename, numbered when two collide); never their paths. */
  roots: readonly string[];
}

export interface NewTaskInput {
  title: string;
  type: string;
  priority?: string;
  /** Index into `CreateLimits.roots`, with a relative sub-directory; both absent: a scratch dir. */
  root?: number;
  dir?: string;
  body?: string;
}

export type TaskAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'approve' | 'acceptReview' | 'sendBack';

export interface ActionResult {
  id: string;
  message: string;
  version: string | null;
}

export interface WebActions {
  create(input: NewTaskInput): Promise<ActionResult>;
  /** `version` is the note's hash as the page showed it: a newer edit in between is a conflict. */
  act(id: string, action: TaskAction, opts: { version?: string; feedback?: string }): Promise<ActionResult>;
}

/** A person's newer edit won: nothing was written. The page shows the message. */
export class WebConflictError extends VaultrunnerError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('NOTE_CHANGED', message, opts);
  }
}

/** The action makes no sense now, or asks for more than the operator allows. Nothing written. */
export class WebRefusedError extends VaultrunnerError {
  constructor(message: string) {
    super('EDIT_REFUSED', message);
  }
}

export class WebNotFoundError extends VaultrunnerError {
  constructor(message: string) {
    super('TASK_NOT_FOUND', message);
  }
}
