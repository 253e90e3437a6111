// The one place that knows the statuses and who may move a task from one to another.

export const STATUSES = [
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

export type Actor = 'person' | 'orchestrator' | 'executor' | 'watchdog';

/** Statuses the service never acts on again (a person may still edit them). */
export const TERMINAL: ReadonlySet<Status> = new Set<Status>(['done', 'cancelled']);

/** Statuses a task in Needs_Action/ may be in while the service still has work to do. */
export const ACTIVE: ReadonlySet<Status> = new Set<Status>(['new', 'planned', 'executing', 'awaiting_approval']);

type Rule = readonly [from: Status, to: Status, actors: readonly Actor[]];

const RULES: readonly Rule[] = [
  ['new', 'planned', ['orchestrator']],
  ['new', 'awaiting_approval', ['orchestrator']],
  ['awaiting_approval', 'planned', ['orchestrator', 'person']], // approved: true
  ['planned', 'awaiting_approval', ['orchestrator']], // type no longer whitelisted
  ['planned', 'executing', ['executor']],
  ['planned', 'failed', ['executor']], // cannot start: unknown agent, working_dir or permission refused
  ['executing', 'done', ['executor']],
  ['executing', 'in_review', ['executor']],
  ['executing', 'planned', ['executor', 'watchdog']], // retry, interrupted run, resume after pause
  ['executing', 'failed', ['executor', 'watchdog']],
  ['executing', 'paused', ['person']],
  ['executing', 'cancelled', ['person']],
  ['in_review', 'done', ['person']],
  ['failed', 'planned', ['person']],
  ['paused', 'planned', ['person']],
  ['new', 'paused', ['person']],
  ['planned', 'paused', ['person']],
];

export function canTransition(from: Status, to: Status, actor: Actor): boolean {
  if (actor === 'person') return from !== to; // a person may set any status; the engine adapts
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

export const PRIORITIES = ['urgent', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const PRIORITY_RANK: Record<Priority, number> = { urgent: 0, high: 1, medium: 2, low: 3 };
