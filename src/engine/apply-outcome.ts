// The shared lifecycle step after a run: the domain decides (domain/outcome.ts), this writes it.
// Used by the executor when a run ends and by the watchdog to replay an outcome journaled in a
// lease by a service that crashed before writing the note (not through the executor).
import type { AgentOutcome } from '../agents/agent.js';
import { obsidianDateTime } from '../clock.js';
import { shortMessage } from '../errors.js';
import { clip } from '../runs/markdown-safe.js';
import { decideOutcome, type RunOutcome } from '../domain/outcome.js';
import { noteStatus } from '../domain/status.js';
import { validateTask } from '../domain/task.js';
import { faultPoint } from '../fault.js';
import { RESULT_MAX_CHARS, resultSection } from '../runs/result-section.js';
import { taskIdOf, wikilink } from '../vault/layout.js';
import type { EngineContext } from './context.js';
import { finishDone } from './finish-task.js';
import { transition } from './transition.js';
import { newCycleState } from './cycle.js';

/** Which attempt produced the outcome, and its transcript link (to restore on an older copy). */
export interface RunIdentity {
  attempt: number;
  runLog?: string;
}

/** `bodyAtStart`: the note's body the run started from (its lease's), kept if it was interrupted. */
export async function applyOutcome(ctx: EngineContext, pathAtStart: string, o: RunOutcome, run?: RunIdentity, bodyAtStart?: string): Promise<void> {
  const taskId = taskIdOf(pathAtStart);
  const { store, logger, taskState } = ctx;
  const path = await currentPath(ctx, taskId, pathAtStart);
  const state = await taskState.get(taskId);
  if (run) await reconcileOlderCopy(ctx, path, taskId, run);
  const read = await store.read(path).catch(() => undefined);
  if (!read || !read.ok) {
    logger.warn({ component: 'executor', task: taskId }, `${taskId}: run ended but the note is gone or unreadable; nothing to record`);
    return;
  }
  const status = noteStatus(read.data);
  const validated = validateTask(taskId, read.data);
  const task = validated.ok ? validated.task : undefined;
  const now = ctx.clock.now();
  const attempts = task?.attempts ?? 1;
  const max = task?.maxAttempts ?? ctx.config.maxAttempts;
  const d = decideOutcome(o, {
    status,
    attempts,
    maxAttempts: max,
    requiresReview: task?.requiresReview ?? false,
    interrupted: state.interrupted ?? 0,
    failures: state.failures ?? 0,
    cycleStart: state.cycleStart ?? 0,
    retryBackoffMs: ctx.config.retryBackoffMs,
    now,
  });
  const sessionEdit = o.sessionId ? { session_id: o.sessionId } : {};
  const costEdit = { ...(o.costUsd !== undefined ? { cost_usd: round(o.costUsd) } : {}), ...o.noteEdits };
  const base = { path, taskId, from: 'executing' as const, actor: 'executor' as const };

  switch (d.kind) {
    case 'interrupted':
      await taskState.patch(taskId, (cur) => ({ resumeSession: d.resumeSession ?? cur.resumeSession, ...(d.resumeSession && o.agent ? { sessionAgent: o.agent } : {}), interrupted: (cur.interrupted ?? 0) + 1, bodyAtStart: bodyAtStart ?? cur.bodyAtStart }));
      if (d.to) await transition(ctx, { ...base, to: d.to, edits: sessionEdit, log: { reason: o.stopReason ?? 'interrupted' } });
      return;
    case 'stopped':
      await taskState.clear(taskId);
      if (d.fileInDone) await fileInDone(ctx, path, taskId);
      return;
    case 'success': {
      // The summary goes into the body in the same write as the status: once, even when replayed.
      const append = (body: string) => resultSection(body, o.result, obsidianDateTime(now));
      const written = await transition(ctx, { ...base, to: d.to, edits: { finished_at: obsidianDateTime(now), ...sessionEdit, ...costEdit, error: undefined }, append });
      // What feedback the agent already has outlives the run: the next review round sends only new feedback.
      // A review round a person starts is a new cycle (max_attempts counts from here), even one
      // started by an edit made while the service was down (nothing notices that transition).
      await taskState.clear(taskId, ['feedbackSent']);
      // A review round may follow up in the same session: whose it is is kept with the new cycle.
      if (d.to === 'in_review') await taskState.patch(taskId, { ...newCycleState(attempts), ...(o.agent ? { sessionAgent: o.agent } : {}) });
      faultPoint('after-final-write');
      // Merged per MERGE (a task with a git workspace), then filed; a refused merge goes to review.
      if (written && d.fileInDone) await finishDone(ctx, path, 'executor', o.agent);
      return;
    }
    case 'retry':
      await taskState.patch(taskId, { failures: d.failures, notBefore: now + d.delayMs, resumeSession: undefined });
      await transition(ctx, { ...base, to: d.to, edits: { error: d.error, ...sessionEdit, ...costEdit }, log: { code: o.code, retryInMs: d.delayMs, attempt: attempts, maxAttempts: max } });
      return;
    case 'failed':
      // Only a person sends a failed task back, and that starts a new cycle: counted from here now,
      // so a `planned` written while the service was down gets max_attempts too.
      await taskState.patch(taskId, newCycleState(attempts));
      await transition(ctx, { ...base, to: d.to, edits: { error: d.error, finished_at: obsidianDateTime(now), ...sessionEdit, ...costEdit }, log: { code: o.code, attempt: attempts, maxAttempts: max } });
      return;
  }
}

async function fileInDone(ctx: EngineContext, path: string, taskId: string): Promise<void> {
  const target = await ctx.store.move(path, ctx.paths.done);
  ctx.logger.info({ component: 'executor', task: taskId, dest: target }, `${taskId}: filed in Done`);
  await ctx.index.refresh(path);
}


function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/**
 * Where the note is now: a person may have moved it to another task folder during the run (the
 * index follows it by id). Its outcome is recorded there; dropping it would run the task again.
 */
async function currentPath(ctx: EngineContext, taskId: string, pathAtStart: string): Promise<string> {
  const indexed = ctx.index.byId(taskId)?.path;
  if (!indexed || indexed === pathAtStart) return pathAtStart;
  const there = await ctx.store.read(pathAtStart).then(
    () => true,
    () => false,
  );
  return there ? pathAtStart : indexed;
}

/**
 * An editor that saved an older copy of the note during the run (`planned` or `new`, fewer
 * attempts than the one that just ran) would make us drop the finished run and run it again. The
 * person's copy is kept (every other byte of it); the run's keys are put back so its outcome is
 * recorded on it, and the transcript stays linked.
 */
async function reconcileOlderCopy(ctx: EngineContext, path: string, taskId: string, run: RunIdentity): Promise<void> {
  const read = await ctx.store.read(path).catch(() => undefined);
  if (!read?.ok) return;
  const status = noteStatus(read.data);
  const attempts = typeof read.data.attempts === 'number' ? read.data.attempts : 0;
  if ((status !== 'planned' && status !== 'new') || attempts >= run.attempt) return;
  const written = await ctx.store.update(path, (data) => {
    const s = noteStatus(data);
    const a = typeof data.attempts === 'number' ? data.attempts : 0;
    return (s === 'planned' || s === 'new') && a < run.attempt ? { status: 'executing', attempts: run.attempt, ...(run.runLog ? { run_log: wikilink(run.runLog) } : {}) } : null;
  });
  if (!written) return;
  ctx.ownWrites.record(taskId, written.note.hash);
  ctx.logger.warn({ component: 'executor', task: taskId, attempt: run.attempt, status }, `${taskId}: an older copy of the note (status ${status}) was saved during attempt ${run.attempt}; its outcome is recorded on that copy, not thrown away`);
}

/** What a run's journal keeps of an agent's outcome. */
export function toRunOutcome(o: AgentOutcome, stopReason: RunOutcome['stopReason'] | undefined, now: number): RunOutcome {
  return o.ok
    ? { ok: true, sessionId: o.sessionId, costUsd: o.costUsd, stopReason, finishedAt: now, ...(o.result?.trim() ? { result: clip(o.result.trim(), RESULT_MAX_CHARS) } : {}) }
    : { ok: false, code: o.error.code, message: shortMessage(o.error, 300), retryable: o.error.retryable, sessionId: o.sessionId, costUsd: o.costUsd, stopReason, finishedAt: now };
}
