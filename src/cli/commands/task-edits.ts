// `pause`, `resume`, `cancel`, `retry`, `approve`: each is one frontmatter edit, decided by the
// domain (domain/person-edits.ts) and written through the one transition path as actor 'person'
// (compare-and-swap, every other byte kept), exactly what a person editing the note in Obsidian
// does. The service notices the edit like any other and logs it `from → to (person)`; when no
// service is running, the CLI logs it itself.
import { relative } from 'node:path';
import { decideEdit, type EditAction, type EditDecision } from '../../domain/person-edits.js';
import { decideAndWrite } from '../../engine/transition.js';
import { recordPersonApproval } from '../../engine/approval.js';
import { validateTask } from '../../domain/task.js';
import { NoteGoneError } from '../../errors.js';
import { createLogger, silentLogger } from '../../log/logger.js';
import { inspectLock } from '../../vault/service-lock.js';
import { TaskStateStore } from '../../vault/task-state.js';
import type { Command } from '../command.js';
import { findTask, openVault, RefusedError } from './shared.js';

export { decideEdit, type EditAction, type EditDecision };

const VERB: Record<EditAction, string> = { pause: 'paused', resume: 'resumed', cancel: 'cancelled', retry: 'retrying', approve: 'approved' };

async function runEdit(action: EditAction, ctx: Parameters<Command['run']>[0]): Promise<number> {
  const { config, paths, store } = openVault(ctx);
  const allowedType = (type: string) => config.executorTypes.includes(type);
  let found = await findTask(paths, ctx.positionals[0]!);
  const lock = await inspectLock(paths.lock).catch(() => ({ state: 'free' as const }));
  const log = lock.state === 'held' ? { logger: silentLogger(), close: () => {} } : createLogger({ vaultDir: paths.root, level: 'info', console: false });
  let decision: EditDecision | undefined;
  const apply = () =>
    decideAndWrite({ store, logger: log.logger }, found.path, found.id, 'person', (data) => {
      decision = decideEdit(action, found.id, data, found.folder, { allowedType });
      return decision.kind === 'edit' ? { to: decision.to, edits: decision.edits } : null;
    });
  // A person's approval is recorded before the note says approved: true, so a running service that
  // sees the note first finds the approval (not a self-written approved: true to reset).
  const undo = action === 'approve' ? await recordApproval(store, paths, found) : undefined;
  try {
    await apply().catch(async (err: unknown) => {
      if (!(err instanceof NoteGoneError)) throw err;
      // The service filed the note into another folder meanwhile: follow it once.
      found = await findTask(paths, ctx.positionals[0]!);
      await apply();
    });
  } catch (err) {
    await undo?.(); // nothing was written: no approval stands without the note's
    throw err;
  } finally {
    log.close();
  }
  const d = decision!;
  if (d.kind === 'refuse') {
    await undo?.();
    throw new RefusedError(d.message);
  }
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
    // A fresh cycle: no backoff, failure count or session carried over; attempts keep counting
    // (no transcript is overwritten) and max_attempts counts from here.
    const attempts = await currentAttempts(store, paths, found.id);
    await new TaskStateStore(paths.taskState).startCycle(found.id, attempts);
    parts.push(`; error cleared, ${attempts > 0 ? `attempts continue from ${attempts} (max_attempts counts anew)` : 'no attempts yet'}`);
  }
  if (d.from === 'executing' && (action === 'pause' || action === 'cancel')) {
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
export const retryCommand = editCommand('retry', 'run a task again (status: planned, error removed; attempts keep counting)', 'Sets status: planned (new if it was never planned) and removes error. `attempts` keeps counting,\nso every attempt keeps its own transcript; max_attempts allows that many new attempts from here.\nWorks for any task that is not running; a note in Done/ is moved back to Needs_Action/.');
export const approveCommand = editCommand('approve', 'approve a task waiting in Pending_Approval/ (approved: true)', 'Sets approved: true. A task awaiting approval is then released to Needs_Action/ and runs; a task\nset requires_approval (or of a type outside EXECUTOR_TYPES) may be approved ahead. A task that needs\nno approval is left as it is, and approve says so (exit 0).');

/** A person's approval for the note's content as it is (engine/approval.ts); how to take it back. */
async function recordApproval(store: ReturnType<typeof openVault>['store'], paths: ReturnType<typeof openVault>['paths'], found: { id: string; path: string }): Promise<(() => Promise<void>) | undefined> {
  const r = await store.read(found.path).catch(() => undefined);
  const v = r?.ok ? validateTask(found.id, r.data) : undefined;
  if (!r?.ok || !v?.ok) return undefined;
  return recordPersonApproval(new TaskStateStore(paths.taskState), found.id, v.task, r.body);
}

async function currentAttempts(store: ReturnType<typeof openVault>['store'], paths: ReturnType<typeof openVault>['paths'], id: string): Promise<number> {
  const found = await findTask(paths, id).catch(() => undefined);
  const r = found ? await store.read(found.path).catch(() => undefined) : undefined;
  const n = r?.ok ? r.data.attempts : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
}
