// One attempt of one task: claim (lease) → `executing` → agent run → outcome journal → note.
import { join } from 'node:path';
import type { Agent, AgentOutcome, AgentRun, PermissionMode, StopReason } from '../agents/agent.js';
import { processStartTime, RUN_MARKER_ENV } from '../agents/process-group.js';
import { obsidianDateTime } from '../clock.js';
import { faultPoint } from '../fault.js';
import { shortMessage } from '../errors.js';
import type { EngineContext } from '../lifecycle/context.js';
import type { Task } from '../lifecycle/task.js';
import { editIfStatus, transition } from '../lifecycle/transition.js';
import { createRunTranscript, type RunTranscript } from '../runs/transcript.js';
import type { Lease, LeaseOutcome } from '../vault/lease-store.js';
import { wikilink } from '../vault/layout.js';
import { resumePrompt, taskPrompt } from './prompt.js';

export type RunStopReason = StopReason | 'moved';

export interface ActiveRun {
  taskId: string;
  path: string;
  task: Task;
  cwd: string;
  agent: Agent;
  lease: Lease;
  run: AgentRun;
  startedAt: number;
  timeoutMs: number;
  attempt: number;
  sessionId?: string;
  stopReason?: RunStopReason;
  /** Settles when the process group is gone after a stop(). */
  stopping?: Promise<void>;
  /** Recording the session id the agent reported; the outcome is applied after it. */
  recording?: Promise<void>;
  /** The process has exited and its outcome is being recorded. */
  ended?: boolean;
  transcript: RunTranscript;
  done: Promise<void>;
}

export interface StartInput {
  path: string;
  task: Task;
  body: string;
  agent: Agent;
  cwd: string;
  permissionMode: PermissionMode;
  lease: Lease;
}

/** Move the note to `executing` and spawn the agent; undefined if the note changed meanwhile. */
export async function startRun(ctx: EngineContext, input: StartInput, onEnd: (r: ActiveRun, o: AgentOutcome) => Promise<void>): Promise<ActiveRun | undefined> {
  const { task, lease } = input;
  const now = ctx.clock.now();
  const attempt = task.attempts + 1;
  const state = await ctx.taskState.get(task.id);
  const resumeSession = input.agent.kind === 'claude' ? state.resumeSession : undefined;
  const transcript = await createRunTranscript({
    runsDir: ctx.paths.runs,
    vaultRoot: ctx.paths.root,
    taskId: task.id,
    attempt,
    header: { agent: input.agent.name, model: task.model, workingDir: input.cwd, startedAt: now, resumedFrom: resumeSession, permissionMode: input.permissionMode },
    now: () => ctx.clock.now(),
  });
  const written = await transition(ctx.store, ctx.logger, {
    path: input.path,
    taskId: task.id,
    from: 'planned',
    to: 'executing',
    actor: 'executor',
    edits: { attempts: attempt, started_at: obsidianDateTime(now), finished_at: undefined, error: undefined, run_log: wikilink(transcript.link) },
    log: { attempt, agent: input.agent.name, cwd: input.cwd, resume: resumeSession },
  });
  if (!written) {
    await transcript.finish({ status: 'not started (the note changed)', durationMs: 0 });
    return undefined;
  }
  await ctx.taskState.patch(task.id, { bodyAtStart: input.body });
  const plan = task.plan ? await readPlanBody(ctx, task) : undefined;
  const prompt = resumeSession ? resumePrompt(state.bodyAtStart, input.body) : taskPrompt(task, input.body, plan, input.cwd);
  const active = {} as ActiveRun;
  const run = input.agent.start({
    taskId: task.id,
    attempt,
    prompt,
    cwd: input.cwd,
    model: task.model,
    permissionMode: input.permissionMode,
    resumeSessionId: resumeSession,
    // The marker finds this run's processes after a crash, even before its pid reaches the lease.
    env: { ...ctx.env, [RUN_MARKER_ENV]: lease.token },
    onRawLine: (line) => transcript.onRawLine(line),
    onEvent: (ev) => {
      transcript.onEvent(ev);
      if (ev.kind === 'init' && !active.sessionId) {
        active.sessionId = ev.sessionId;
        active.recording = recordSession(ctx, active, ev.sessionId);
      }
    },
  });
  Object.assign(active, {
    taskId: task.id,
    path: input.path,
    task,
    cwd: input.cwd,
    agent: input.agent,
    lease,
    run,
    startedAt: now,
    timeoutMs: task.timeoutMs ?? ctx.config.taskTimeoutMs,
    attempt,
    transcript,
  } satisfies Partial<ActiveRun>);
  faultPoint('after-spawn');
  // pid 0 means the spawn failed; never record it (kill(-0) would signal our own group).
  if (run.pid > 0) await ctx.leases.update(lease, { attempt, run: { pid: run.pid, pidStart: processStartTime(run.pid), startedAt: now } }).catch(() => false);
  active.done = run.outcome.then((o) => onEnd(active, o));
  return active;
}

/** session_id goes into the note once, as soon as the agent reports it (resume needs it). */
async function recordSession(ctx: EngineContext, r: ActiveRun, sessionId: string): Promise<void> {
  try {
    if (r.lease.run) await ctx.leases.update(r.lease, { run: { ...r.lease.run, sessionId } });
    await ctx.taskState.patch(r.taskId, { resumeSession: undefined });
    if (r.task.sessionId !== sessionId) await editIfStatus(ctx.store, r.path, ['executing'], { session_id: sessionId });
  } catch (err) {
    ctx.logger.warn({ component: 'executor', task: r.taskId, err }, 'could not record session id');
  }
}

async function readPlanBody(ctx: EngineContext, task: Task): Promise<string | undefined> {
  const name = task.plan!.replace(/^\[\[|\]\]$/g, '').split('|')[0]!;
  const r = await ctx.store.read(join(ctx.paths.plans, `${name.replace(/^Plans\//, '')}.md`)).catch(() => undefined);
  return r?.ok ? r.body : undefined;
}

export function toLeaseOutcome(o: AgentOutcome, stopReason: RunStopReason | undefined, now: number): LeaseOutcome {
  return o.ok
    ? { ok: true, sessionId: o.sessionId, costUsd: o.costUsd, stopReason, finishedAt: now }
    : { ok: false, code: o.error.code, message: shortMessage(o.error, 300), retryable: o.error.retryable, sessionId: o.sessionId, costUsd: o.costUsd, stopReason, finishedAt: now };
}
