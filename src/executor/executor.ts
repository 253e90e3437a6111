// The executor runs `planned` tasks: every pass judges each queued task with the one readiness
// function (in dispatch order, so "slot" and "working dir busy" reflect the runs it just started),
// starts the ready ones on slots of the shared run machinery, and wakes itself exactly when the
// earliest retry backoff ends.
import { capabilitiesOf, type AgentOutcome } from '../agents/agent.js';
import { clampPermissionMode } from '../agents/permission.js';
import { clampBudgetUsd } from '../agents/budget.js';
import { obsidianDateTime } from '../clock.js';
import { dirKey, dispatchOrder } from '../domain/dispatch.js';
import type { Readiness } from '../domain/readiness.js';
import type { Task } from '../domain/task.js';
import { healthOf, probeAgents } from '../engine/agent-health.js';
import { applyOutcome } from '../engine/apply-outcome.js';
import type { EngineContext } from '../engine/context.js';
import type { LiveRun, RunStopReason } from '../engine/run-registry.js';
import { editIfStatus, transition } from '../engine/transition.js';
import { readinessOf, runningSet } from '../engine/wait-facts.js';
import { resolveWorkingDir } from '../engine/working-dir.js';
import { AgentError, shortMessage, VaultrunnerError } from '../errors.js';
import { faultPoint } from '../fault.js';
import type { IndexEntry } from '../vault/task-index.js';
import { startRun, toRunOutcome } from './run-task.js';

type Candidate = IndexEntry & { task: Task; body: string };

export class Executor {
  private dispatching = false;
  private again = false;
  private kickTimer: NodeJS.Immediate | undefined;
  private wakeTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  private stopping = false;
  /** The verdict of the last pass for each queued task (what views compare against). */
  private verdicts: ReadonlyMap<string, Readiness> = new Map();

  constructor(private readonly ctx: EngineContext) {}

  /** Claimed by this service: starting, running, or recording its outcome. */
  isRunning(taskId: string): boolean {
    return this.ctx.runs.has(taskId);
  }

  lastVerdicts(): ReadonlyMap<string, Readiness> {
    return this.verdicts;
  }

  /** Ask for a dispatch pass soon; many kicks in one turn of the event loop make one pass. */
  kick(): void {
    if (this.stopping || this.kickTimer) return;
    this.kickTimer = setImmediate(() => {
      this.kickTimer = undefined;
      void this.tick();
    });
  }

  async tick(): Promise<void> {
    if (this.stopping) return;
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.again = false;
        await this.dispatch();
      } while (this.again && !this.stopping);
    } catch (err) {
      this.ctx.logger.error({ component: 'executor', err }, `dispatch failed: ${shortMessage(err)}`);
    } finally {
      this.dispatching = false;
    }
  }

  stopRun(taskId: string, reason: RunStopReason): Promise<void> {
    return this.ctx.runs.stop(taskId, reason);
  }

  /** Stop claiming; let runs finish for `graceMs`, then stop them (they resume on next start). */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.kickTimer) clearImmediate(this.kickTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
    await this.ctx.runs.shutdown(graceMs);
  }

  private async dispatch(): Promise<void> {
    const { ctx } = this;
    const queued: Candidate[] = [];
    for (const e of ctx.index.entries()) {
      if (e.folder !== 'Needs_Action' || e.state.kind !== 'task' || e.state.task.status !== 'planned') continue;
      queued.push({ ...e, task: e.state.task, body: e.state.body });
    }
    queued.sort(dispatchOrder);
    await probeAgents(ctx, queued.filter((c) => !ctx.runs.has(c.id)).map((c) => c.task.agent ?? ctx.config.agent));
    const verdicts = new Map<string, Readiness>();
    const started: string[] = [];
    let wakeAt: number | undefined;
    for (const c of queued) {
      if (this.stopping) break;
      const now = ctx.clock.now();
      const verdict = await readinessOf(c, {
        config: ctx.config,
        index: ctx.index,
        taskState: ctx.taskState,
        now,
        running: runningSet(ctx.runs.slots(), ctx.config.maxConcurrent),
        agentHealth: (name) => healthOf(ctx, name),
      });
      verdicts.set(c.id, verdict);
      if (verdict.kind === 'problem') await this.report(c, c.task, verdict.problem);
      else if (verdict.kind === 'waiting' && verdict.reason.kind === 'backoff') wakeAt = Math.min(wakeAt ?? Infinity, verdict.reason.until);
      else if (verdict.kind === 'ready' && (await this.start(c))) started.push(c.id);
    }
    this.verdicts = verdicts;
    if (wakeAt !== undefined) this.wakeAt(wakeAt);
    ctx.events.emit('dispatch:pass', { started, verdicts });
  }

  /** Exact retry timing: a pass when the earliest backoff ends (the interval is only a net). */
  private wakeAt(at: number): void {
    if (this.stopping || (this.wakeTimer && this.wakeTimer.at <= at)) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
    const timer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.kick();
    }, Math.max(0, at - this.ctx.clock.now()) + 5);
    timer.unref();
    this.wakeTimer = { at, timer };
  }

  /** A problem goes into the note's `error` and the log once, not on every pass. */
  private async report(e: IndexEntry, task: Task, problem: string): Promise<void> {
    const error = shortMessage(problem, 300);
    if (task.error === error) return;
    this.ctx.logger.warn({ component: 'executor', task: task.id, problem }, `${task.id}: ${problem}`);
    await editIfStatus(this.ctx, e.path, task.id, ['planned'], { error });
    await this.ctx.index.refresh(e.path);
  }

  private async start(c: Candidate): Promise<boolean> {
    const { ctx } = this;
    const task = c.task;
    const agentName = task.agent ?? ctx.config.agent;
    const agent = ctx.agents.get(agentName);
    let cwd: string;
    let mode;
    let budget: number | undefined;
    try {
      if (!agent) throw new VaultrunnerError('AGENT_UNKNOWN', `agent ${JSON.stringify(agentName)} is not configured; configured agents: ${ctx.agents.names().join(', ')}`);
      mode = clampPermissionMode(task.permissionMode, ctx.config.permissionMode);
      if (!capabilitiesOf(agent).permissionModes.includes(mode)) throw new AgentError('PERMISSION_DENIED', `agent ${agent.name} cannot honour permission mode "${mode}"; ask for one of ${capabilitiesOf(agent).permissionModes.join(', ')}`);
      budget = clampBudgetUsd(task.budgetUsd, ctx.config.maxBudgetUsd);
      cwd = await resolveWorkingDir(task, ctx.config, ctx.paths);
    } catch (err) {
      const code = err instanceof VaultrunnerError ? err.code : undefined;
      const error = code && code !== 'AGENT_UNKNOWN' ? `${code}: ${shortMessage(err, 280)}` : shortMessage(err, 300);
      await transition(ctx, { path: c.path, taskId: task.id, from: 'planned', to: 'failed', actor: 'executor', edits: { error, finished_at: obsidianDateTime(ctx.clock.now()) }, log: { code } });
      await ctx.index.refresh(c.path);
      return false;
    }
    faultPoint('before-claim');
    const claim = await ctx.runs.claim({ taskId: task.id, kind: 'run', path: c.path, dirKey: dirKey(task), attempt: task.attempts + 1 });
    if (!claim) return false;
    faultPoint('after-claim');
    let run;
    try {
      run = await startRun(ctx, claim, { path: c.path, task, body: c.body, agent: agent!, cwd, permissionMode: mode, maxBudgetUsd: budget }, (r, o) => this.finish(r, o));
    } catch (err) {
      ctx.logger.error({ component: 'executor', task: task.id, err }, `${task.id}: could not start: ${shortMessage(err)}`);
    }
    if (!run) {
      await ctx.runs.release(task.id);
      await ctx.index.refresh(c.path);
      return false;
    }
    faultPoint('mid-run');
    await ctx.index.refresh(c.path);
    return true;
  }

  private async finish(r: LiveRun, o: AgentOutcome): Promise<void> {
    const { ctx } = this;
    const stopReason = r.state === 'stopping' ? r.stopReason : undefined;
    let recorded = false;
    try {
      // A stopped run is recorded only once its whole process tree is gone.
      if (r.state === 'stopping') await r.stopped.catch(() => undefined);
      // Or its late "session_id recorded" would undo what the outcome records (e.g. what to resume).
      await r.session.recording;
      const journal = toRunOutcome(o, stopReason, ctx.clock.now());
      // Journal first: a crash between here and the note write is replayed, not re-run.
      await ctx.leases.update(r.lease, { outcome: journal });
      faultPoint('after-outcome');
      await r.transcript?.finish({
        status: stopReason && stopReason !== 'timeout' ? `stopped (${stopReason})` : o.ok ? 'success' : 'failed',
        durationMs: ctx.clock.now() - r.startedAt,
        numTurns: o.numTurns,
        costUsd: o.costUsd,
        permissionDenials: o.permissionDenials,
        error: o.ok ? undefined : o.error.message,
        sessionId: o.sessionId ?? r.session.id,
      });
      if (o.permissionDenials.length > 0) {
        ctx.logger.warn({ component: 'executor', task: r.taskId, denials: o.permissionDenials }, `${r.taskId}: the agent was denied ${o.permissionDenials.length} tool use(s) (see the run log)`);
      }
      await applyOutcome(ctx, r.path, journal);
      recorded = true;
    } catch (err) {
      ctx.logger.error({ component: 'executor', task: r.taskId, err }, `${r.taskId}: recording the outcome failed: ${shortMessage(err)}; the watchdog will retry`);
    } finally {
      // Unrecorded: the lease (with its journal) stays for the watchdog to replay.
      await ctx.runs.release(r.taskId, { keepLease: !recorded });
      await ctx.index.refresh(r.path).catch(() => undefined);
      ctx.events.emit('run:end', { taskId: r.taskId, kind: 'run', attempt: r.attempt, ok: o.ok, ...(stopReason ? { stopReason } : {}) });
      this.kick();
    }
  }
}
