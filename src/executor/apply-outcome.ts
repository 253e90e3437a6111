// Turning a run's outcome into the note's next status. Used when a run ends, and by the watchdog
// to replay an outcome journaled in a lease by a service that crashed before writing the note.
import { obsidianDateTime } from '../clock.js';
import { faultPoint } from '../fault.js';
import type { EngineContext } from '../lifecycle/context.js';
import { validateTask } from '../lifecycle/task.js';
import { noteStatus, transition } from '../lifecycle/transition.js';
import { taskIdOf } from '../vault/layout.js';
import type { LeaseOutcome } from '../vault/lease-store.js';

/** First retry after `base`, doubling each time, ±25 % jitter, at most an hour. */
export function backoffMs(base: number, failures: number, random: () => number = Math.random): number {
  const raw = Math.min(base * 2 ** Math.max(0, failures - 1), 3_600_000);
  return Math.round(raw * (0.75 + random() * 0.5));
}

export async function applyOutcome(ctx: EngineContext, path: string, o: LeaseOutcome): Promise<void> {
  const taskId = taskIdOf(path);
  const { store, logger, taskState } = ctx;
  const state = await taskState.get(taskId);
  const read = await store.read(path).catch(() => undefined);
  if (!read || !read.ok) {
    logger.warn({ component: 'executor', task: taskId }, `${taskId}: run ended but the note is gone or unreadable; nothing to record`);
    return;
  }
  const status = noteStatus(read.data);
  const validated = validateTask(taskId, read.data);
  const task = validated.ok ? validated.task : undefined;
  const now = ctx.clock.now();
  const sessionEdit = o.sessionId ? { session_id: o.sessionId } : {};

  if (o.stopReason === 'pause' || o.stopReason === 'shutdown' || status === 'paused') {
    await taskState.patch(taskId, (cur) => ({ resumeSession: o.sessionId ?? cur.resumeSession, interrupted: (cur.interrupted ?? 0) + 1 }));
    if (status === 'executing') {
      await transition(store, logger, { path, taskId, from: 'executing', to: 'planned', actor: 'executor', edits: sessionEdit, log: { reason: o.stopReason ?? 'interrupted' } });
    }
    return;
  }
  if (o.stopReason === 'cancel' || o.stopReason === 'moved' || status === 'cancelled') {
    await taskState.clear(taskId);
    if (status === 'cancelled' || status === 'done') await fileInDone(ctx, path, taskId);
    return;
  }
  if (o.ok) {
    const to = task?.requiresReview ? 'in_review' : 'done';
    const written = await transition(store, logger, {
      path,
      taskId,
      from: 'executing',
      to,
      actor: 'executor',
      edits: { finished_at: obsidianDateTime(now), ...sessionEdit, ...(o.costUsd !== undefined ? { cost_usd: round(o.costUsd) } : {}), error: undefined },
    });
    await taskState.clear(taskId);
    faultPoint('after-final-write');
    if (written && to === 'done') await fileInDone(ctx, path, taskId);
    return;
  }
  const attempts = task?.attempts ?? 1;
  const max = task?.maxAttempts ?? ctx.config.maxAttempts;
  const counted = attempts - (state.interrupted ?? 0);
  const error = o.message ?? o.code ?? 'agent failed';
  const costEdit = o.costUsd !== undefined ? { cost_usd: round(o.costUsd) } : {};
  if (o.retryable && counted < max) {
    let delay = 0;
    await taskState.patch(taskId, (cur) => {
      const failures = (cur.failures ?? 0) + 1;
      delay = backoffMs(ctx.config.retryBackoffMs, failures);
      return { failures, notBefore: now + delay, resumeSession: undefined };
    });
    await transition(store, logger, { path, taskId, from: 'executing', to: 'planned', actor: 'executor', edits: { error, ...sessionEdit, ...costEdit }, log: { code: o.code, retryInMs: delay, attempt: attempts, maxAttempts: max } });
    return;
  }
  await taskState.patch(taskId, { notBefore: undefined, resumeSession: undefined });
  await transition(store, logger, { path, taskId, from: 'executing', to: 'failed', actor: 'executor', edits: { error, finished_at: obsidianDateTime(now), ...sessionEdit, ...costEdit }, log: { code: o.code, attempt: attempts, maxAttempts: max } });
}

async function fileInDone(ctx: EngineContext, path: string, taskId: string): Promise<void> {
  const target = await ctx.store.move(path, ctx.paths.done);
  ctx.logger.info({ component: 'executor', task: taskId, dest: target }, `${taskId}: filed in Done`);
  await ctx.index.refresh(path);
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
