// The one place that knows the statuses, who may move a task from one to another, and which
// folder a task in each status lives in. Pure: no I/O, no timers.

export const STATUSES = [
  'draft',
  'new',
  'planned',
  'executing',
  'done',
  'failed',
  'paused',
  'cancelled',
  'awaiting_approval',
  'in_review',
] as const;
export type Status = (typeof STATUSES)[number];

/** Who moves a task: a person (by editing the note or through the CLI) or one engine component. */
export const ACTORS = ['person', 'orchestrator', 'executor', 'watchdog'] as const;
export type Actor = (typeof ACTORS)[number];
export type EngineActor = Exclude<Actor, 'person'>;

/** Statuses the service never acts on again (a person may still edit them); filed in Done/. */
export const TERMINAL: ReadonlySet<Status> = new Set<Status>(['done', 'cancelled']);

/** Statuses in which the service still has work to do for the task. */
export const ACTIVE: ReadonlySet<Status> = new Set<Status>(['new', 'planned', 'executing', 'awaiting_approval']);

/** Statuses the service leaves entirely to a person. */
export const PERSON_HELD: ReadonlySet<Status> = new Set<Status>(['draft', 'paused', 'in_review', 'failed']);

type Rule = readonly [from: Status, to: Status, actors: readonly EngineActor[]];

/** Every move an engine component may make. A person may make any move (the engine adapts). */
export const RULES: readonly Rule[] = [
  ['new', 'planned', ['orchestrator']],
  ['new', 'awaiting_approval', ['orchestrator']],
  ['new', 'failed', ['orchestrator']], // cannot be planned: working_dir refused
  ['awaiting_approval', 'planned', ['orchestrator']], // approved: true
  ['planned', 'awaiting_approval', ['orchestrator']], // type no longer whitelisted
  ['planned', 'executing', ['executor']],
  ['planned', 'failed', ['executor']], // cannot start: unknown agent, working_dir or permission refused
  ['executing', 'done', ['executor']],
  ['executing', 'in_review', ['executor']],
  ['executing', 'planned', ['executor', 'watchdog']], // retry, interrupted run, resume after pause
  ['executing', 'failed', ['executor', 'watchdog']],
  ['done', 'in_review', ['executor', 'orchestrator']], // its merge was refused (dirty checkout, conflict)
];

export function canTransition(from: Status, to: Status, actor: Actor): boolean {
  if (actor === 'person') return from !== to;
  return RULES.some(([f, t, actors]) => f === from && t === to && actors.includes(actor));
}

export class TransitionError extends Error {
  readonly code = 'TRANSITION_DENIED';
  constructor(
    readonly from: Status,
    readonly to: Status,
    readonly actor: Actor,
  ) {
    super(`${actor} may not move a task from ${from} to ${to}`);
  }
}

export function assertTransition(from: Status, to: Status, actor: Actor): void {
  if (!canTransition(from, to, actor)) throw new TransitionError(from, to, actor);
}

/** A note's status: `status` if it is one of ours, `new` when the key is absent, else undefined. */
export function noteStatus(data: Record<string, unknown>): Status | undefined {
  const s = data.status ?? 'new';
  return (STATUSES as readonly unknown[]).includes(s) ? (s as Status) : undefined;
}

export type TaskFolder = 'Needs_Action' | 'Pending_Approval' | 'Done';

/**
 * Where the service files a task in this status, or undefined where it leaves the note in
 * whichever task folder a person put it (paused, failed, in review, draft, new, executing).
 */
export function folderFor(status: Status): TaskFolder | undefined {
  switch (status) {
    case 'planned':
      return 'Needs_Action';
    case 'awaiting_approval':
      return 'Pending_Approval';
    case 'done':
    case 'cancelled':
      return 'Done';
    default:
      return undefined;
  }
}

export const PRIORITIES = ['urgent', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const PRIORITY_RANK: Record<Priority, number> = { urgent: 0, high: 1, medium: 2, low: 3 };
