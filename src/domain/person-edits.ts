// What the CLI's `pause`, `resume`, `cancel`, `retry` and `approve` do to a note: the same moves a
// person makes by editing its frontmatter, decided here and written through the one transition
// path (actor 'person'). Pure.
import { noteStatus, type Status } from './status.js';

export type EditAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'approve';
export type NoteFolder = 'Needs_Action' | 'Pending_Approval' | 'Done';

export type EditDecision =
  /** Set status `to` (when given) and `edits` (other keys; undefined removes a key). */
  | { kind: 'edit'; edits: Record<string, string | number | boolean | null | undefined>; from: string; to?: Status }
  | { kind: 'noop'; from: string; message: string }
  | { kind: 'refuse'; message: string };

const truthy = (v: unknown) => v === true || v === 'true' || v === 'yes';

export interface EditFacts {
  /** Whether the operator's whitelist lets this type run without approval (EXECUTOR_TYPES). */
  allowedType?: (type: string) => boolean;
}

/** What `action` does to a note with this frontmatter in this folder. */
export function decideEdit(action: EditAction, id: string, data: Record<string, unknown>, folder: NoteFolder, facts: EditFacts = {}): EditDecision {
  const status = noteStatus(data);
  const from = status ?? `${JSON.stringify(data.status)} (not a status)`;
  const refuse = (why: string): EditDecision => ({ kind: 'refuse', message: `cannot ${action} ${id}: ${why}` });
  if (folder === 'Done' && action !== 'retry') return refuse(`it is filed in Done/ (status ${from}); only 'vaultrunner retry' brings it back`);
  // A task that was never planned goes back to `new`, so the orchestrator writes its plan first.
  const queued: Status = typeof data.plan === 'string' && data.plan.trim() !== '' ? 'planned' : 'new';
  switch (action) {
    case 'pause':
      if (status === 'paused') return refuse('it is already paused');
      if (status === 'new' || status === 'planned' || status === 'executing' || status === 'awaiting_approval' || status === 'draft') return { kind: 'edit', edits: {}, from, to: 'paused' };
      return refuse(`it is ${from}${hint(status)}`);
    case 'resume':
      if (status !== 'paused') return refuse(`it is ${from}, not paused${hint(status)}`);
      return { kind: 'edit', edits: {}, from, to: queued };
    case 'cancel':
      if (status === 'cancelled' || status === 'done') return refuse(`it is already ${status}`);
      return { kind: 'edit', edits: {}, from, to: 'cancelled' };
    case 'retry':
      if (status === 'executing') return refuse('it is running now; pause or cancel it first');
      // `attempts` keeps counting (every attempt keeps its own transcript); the new cycle gets
      // max_attempts fresh tries, counted from here.
      return { kind: 'edit', edits: { error: undefined }, from, to: queued };
    case 'approve':
      if (status === 'done' || status === 'cancelled' || status === 'failed' || status === 'in_review' || status === 'executing') return refuse(`it is ${from}${hint(status)}`);
      if (truthy(data.approved)) return { kind: 'noop', from, message: `${id} is already approved (status ${from})` };
      // Approval gates two things only: a type outside the whitelist, and requires_approval.
      if (status !== 'awaiting_approval' && folder !== 'Pending_Approval' && !truthy(data.requires_approval) && typeof data.type === 'string' && facts.allowedType?.(data.type)) {
        return { kind: 'noop', from, message: `${id} needs no approval: its type ${data.type} may run without one and it does not set requires_approval (status ${from}); nothing changed` };
      }
      return { kind: 'edit', edits: { approved: true }, from };
  }
}

function hint(status: Status | undefined): string {
  switch (status) {
    case 'failed':
      return "; use 'vaultrunner retry' to run it again";
    case 'in_review':
      return '; it waits for your review: set status: done when it is good';
    case 'done':
    case 'cancelled':
      return '; nothing is left to run';
    case 'executing':
      return '; it is running now';
    case 'paused':
      return "; use 'vaultrunner resume' first";
    default:
      return '';
  }
}
