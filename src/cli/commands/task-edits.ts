// `pause`, `resume`, `cancel`, `retry`, `approve`: each is one frontmatter edit made through the
// NoteStore (compare-and-swap, every other byte kept), exactly what a person editing the note in
// Obsidian would do (actor 'person'). The service notices the edit like any other.
import { relative } from 'node:path';
import { NoteGoneError } from '../../errors.js';
import { noteStatus } from '../../lifecycle/transition.js';
import type { FieldEdits } from '../../vault/frontmatter.js';
import { TaskStateStore } from '../../lifecycle/task-state.js';
import { inspectLock } from '../../vault/service-lock.js';
import type { Command } from '../command.js';
import { findTask, openVault, RefusedError, type SearchFolder } from './shared.js';

export type EditAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'approve';

export type EditDecision =
  | { kind: 'edit'; edits: FieldEdits; from: string; to?: string }
  | { kind: 'noop'; from: string; message: string }
  | { kind: 'refuse'; message: string };

const truthy = (v: unknown) => v === true || v === 'true' || v === 'yes';

/** What `action` does to a note with this frontmatter in this folder. Pure. */
export function decideEdit(action: EditAction, id: string, data: Record<string, unknown>, folder: SearchFolder): EditDecision {
  const status = noteStatus(data);
  const from = status ?? `${JSON.stringify(data.status)} (not a status)`;
  const refuse = (why: string): EditDecision => ({ kind: 'refuse', message: `cannot ${action} ${id}: ${why}` });
  if (folder === 'Done' && action !== 'retry') return refuse(`it is filed in Done/ (status ${from}); only 'vaultrunner retry' brings it back`);
  // A task that was never planned goes back to `new`, so the orchestrator writes its plan first.
  const queued = typeof data.plan === 'string' && data.plan.trim() !== '' ? 'planned' : 'new';
  switch (action) {
    case 'pause':
      if (status === 'paused') return refuse('it is already paused');
      if (status === 'new' || status === 'planned' || status === 'executing' || status === 'awaiting_approval') return { kind: 'edit', edits: { status: 'paused' }, from, to: 'paused' };
      return refuse(`it is ${from}${hint(status)}`);
    case 'resume':
      if (status !== 'paused') return refuse(`it is ${from}, not paused${hint(status)}`);
      return { kind: 'edit', edits: { status: queued }, from, to: queued };
    case 'cancel':
      if (status === 'cancelled' || status === 'done') return refuse(`it is already ${status}`);
      return { kind: 'edit', edits: { status: 'cancelled' }, from, to: 'cancelled' };
    case 'retry':
      if (status === 'executing') return refuse("it is running now; pause or cancel it first");
      return { kind: 'edit', edits: { status: queued, attempts: 0, error: undefined }, from, to: queued };
    case 'approve':
      if (status === 'done' || status === 'cancelled' || status === 'failed' || status === 'in_review' || status === 'executing') return refuse(`it is ${from}${hint(status)}`);
      if (truthy(data.approved)) return { kind: 'noop', from, message: `${id} is already approved (status ${from})` };
      return { kind: 'edit', edits: { approved: true }, from };
  }
}

function hint(status: string | undefined): string {
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

const VERB: Record<EditAction, string> = { pause: 'paused', resume: 'resumed', cancel: 'cancelled', retry: 'retrying', approve: 'approved' };

async function runEdit(action: EditAction, ctx: Parameters<Command['run']>[0]): Promise<number> {
  const { paths, store } = openVault(ctx);
  let found = await findTask(paths, ctx.positionals[0]!);
  let decision: EditDecision | undefined;
  const apply = () =>
    store.update(found.path, (data) => {
      decision = decideEdit(action, found.id, data, found.folder);
      return decision.kind === 'edit' ? decision.edits : null;
    });
  try {
    await apply();
  } catch (err) {
    if (!(err instanceof NoteGoneError)) throw err;
    // The service filed the note into another folder meanwhile: follow it once.
    found = await findTask(paths, ctx.positionals[0]!);
    await apply();
  }
  const d = decision!;
  if (d.kind === 'refuse') throw new RefusedError(d.message);
  if (d.kind === 'noop') {
    ctx.io.stdout.write(`${d.message}\n`);
    return 0;
  }
  let where = '';
  if (found.folder === 'Done') {
    // Status first, then the move: the service never sees a `done` note back in Needs_Action/.
    const target = await store.move(found.path, paths.needsAction);
    where = `; moved back to ${relative(paths.root, target)}`;
  }
  const parts = [`${VERB[action]} ${found.id} (was ${d.from}${d.to && action !== 'pause' && action !== 'cancel' ? `, now ${d.to}` : ''})${where}`];
  if (action === 'retry') {
    // A fresh start: no retry backoff, failure count or session carried over from before.
    await new TaskStateStore(paths.taskState).clear(found.id);
    parts.push('; attempts reset to 0, error cleared');
  }
  if (d.from === 'executing' && (action === 'pause' || action === 'cancel')) {
    const lock = await inspectLock(paths.lock).catch(() => ({ state: 'free' as const }));
    parts.push(
      lock.state === 'held'
        ? `; the service stops the running agent when it sees the edit${action === 'pause' ? " ('vaultrunner resume' continues the session)" : ' and files the note in Done/'}`
        : '; the service is not running: it acts on this when it starts',
    );
  } else if (action === 'cancel') {
    parts.push('; the service files it in Done/');
  } else if (action === 'approve' && d.from === 'awaiting_approval') {
    parts.push('; the service releases it to Needs_Action/');
  }
  ctx.io.stdout.write(`${parts.join('')}\n`);
  return 0;
}

function editCommand(action: EditAction, summary: string, help: string): Command {
  return {
    name: action,
    summary,
    usage: `${action} <task>`,
    help: `${help}\n<task> is the note's name (its id), with or without [[ ]] or .md. Only the named properties\nchange; every other byte of the note stays as it is. Refused (exit 1) when it makes no sense.`,
    options: {},
    positionals: [1, 1],
    run: (ctx) => runEdit(action, ctx),
  };
}

export const pauseCommand = editCommand('pause', 'pause a task (status: paused); a running agent is stopped', 'Sets status: paused (from new, planned, executing or awaiting_approval). A running agent is\nstopped by the service when it sees the edit; resume continues its session.');
export const resumeCommand = editCommand('resume', 'resume a paused task (status: planned, or new if never planned)', 'Sets status: planned for a paused task that has a plan, else status: new so it gets planned.');
export const cancelCommand = editCommand('cancel', 'cancel a task (status: cancelled); the service files it in Done/', 'Sets status: cancelled. A running agent is stopped by the service when it sees the edit.');
export const retryCommand = editCommand('retry', 'run a task again (status: planned, attempts: 0, error removed)', 'Sets status: planned (new if it was never planned), attempts: 0 and removes error. Works for\nany task that is not running; a note in Done/ is moved back to Needs_Action/.');
export const approveCommand = editCommand('approve', 'approve a task waiting in Pending_Approval/ (approved: true)', 'Sets approved: true. A task awaiting approval is then released to Needs_Action/ and runs.');
