// The executor picks `planned` tasks in dispatch order and runs them, at most MAX_CONCURRENT at
// once and one at a time per working_dir, each under a lease.
import { resolve } from 'node:path';
import type { AgentOutcome } from '../agents/agent.js';
import { clampPermissionMode } from '../agents/permission.js';
import { obsidianDateTime } from '../clock.js';
import { shortMessage, VaultrunnerError } from '../errors.js';
import { faultPoint } from '../fault.js';
import type { EngineContext } from '../lifecycle/context.js';
import { dispatchOrder, readiness } from '../lifecycle/dependencies.js';
import type { IndexEntry } from '../lifecycle/task-index.js';
import type { Task } from '../lifecycle/task.js';
import { editIfStatus, transition } from '../lifecycle/transition.js';
import { applyOutcome } from './apply-outcome.js';
import { startRun, toLeaseOutcome, type ActiveRun, type RunStopReason } from './run-task.js';
import { resolveWorkingDir } from './workspace.js';

type Candidate = IndexEntry & { task: Task; body: string };


export class Executor {
  private readonly runs = new Map<string, ActiveRun>();
  private dispatching = false;
  private again = false;
  private kickTimer: NodeJS.Immediate | undefined;
  private stopping = false;
  private readonly renewTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly ctx: EngineContext) {}

  active(): ActiveRun[] {
    return [...this.runs.values()];
  }

  /** Claimed by this executor: starting, running, or recording its outcome. */
  isRunning(taskId: string): boolean {
    return this.runs.has(taskId);
  }

  /** An agent process is still running for this task (so a person's edit should stop it). */
  isLive(taskId: string): boolean {
    const r = this.runs.get(taskId);
    return Boolean(r && r.run && !r.ended);
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

  async stopRun(taskId: string, reason: RunStopReason): Promise<void> {
    const r = this.runs.get(taskId);
    if (!r || !r.run || r.ended || r.stopReason) return;
    r.stopReason = reason;
    r.transcript.note(`Stopping the agent: ${reason === 'timeout' ? `timeout after ${Math.round(r.timeoutMs / 1000)}s` : reason}.`);
    this.ctx.logger.info({ component: reason === 'timeout' ? 'watchdog' : 'executor', task: taskId, reason }, `${taskId}: stopping agent (${reason})`);
    r.stopping = r.run.stop(reason === 'moved' ? 'cancel' : reason, this.ctx.config.killGraceMs);
    await r.stopping;
  }

  /** Stop claiming; let runs finish for `graceMs`, then stop them (they resume on next start). */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.kickTimer) clearImmediate(this.kickTimer);
    const all = () => Promise.all(this.active().map((r) => r.done));
    const timedOut = await Promise.race([all().then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (timedOut) await Promise.all(this.active().map((r) => this.stopRun(r.taskId, 'shutdown')));
    await all();
  }

  private async dispatch(): Promise<void> {
    const { ctx } = this;
    const free = ctx.config.maxConcurrent - this.runs.size;
    if (free <= 0) return;
    const candidates = await this.candidates();
    const busyDirs = new Set(this.active().map((r) => dirKey(r.task)));
    let started = 0;
    for (const c of candidates) {
      if (started >= free || this.stopping) break;
      const key = dirKey(c.task);
      if (busyDirs.has(key)) continue;
      if (await this.start(c)) {
        busyDirs.add(key);
        started++;
      }
    }
  }

  private async candidates(): Promise<Candidate[]> {
    const { ctx } = this;
    const now = ctx.clock.now();
    const out: Candidate[] = [];
    for (const e of ctx.index.entries()) {
      if (e.folder !== 'Needs_Action' || e.state.kind !== 'task') continue;
      const task = e.state.task;
      if (task.status !== 'planned' || this.runs.has(task.id)) continue;
      if (!ctx.config.executorTypes.includes(task.type) && !task.approved) continue;
      const st = await ctx.taskState.get(task.id);
      if (st.notBefore && st.notBefore > now) continue;
      const ready = await readiness(task, ctx.index);
      if (!ready.ready) {
        if ('problem' in ready) await this.report(e, task, ready.problem);
        continue;
      }
      out.push({ ...e, task, body: e.state.body });
    }
    return out.sort(dispatchOrder);
  }

  /** A problem goes into the note's `error` and the log once, not on every pass. */
  private async report(e: IndexEntry, task: Task, problem: string): Promise<void> {
    const error = shortMessage(problem, 300);
    if (task.error === error) return;
    this.ctx.logger.warn({ component: 'executor', task: task.id, problem }, `${task.id}: ${problem}`);
    await editIfStatus(this.ctx.store, e.path, ['planned'], { error });
    await this.ctx.index.refresh(e.path);
  }

  private async start(c: Candidate): Promise<boolean> {
    const { ctx } = this;
    const task = c.task;
    const agentName = task.agent ?? ctx.config.agent;
    const agent = ctx.agents.get(agentName);
    let cwd: string;
    let mode;
    try {
      if (!agent) throw new VaultrunnerError('AGENT_UNKNOWN', `agent ${JSON.stringify(agentName)} is not configured; configured agents: ${ctx.agents.names().join(', ')}`);
      mode = clampPermissionMode(task.permissionMode, ctx.config.permissionMode);
      cwd = await resolveWorkingDir(task, ctx.config, ctx.paths);
    } catch (err) {
      await transition(ctx.store, ctx.logger, { path: c.path, taskId: task.id, from: 'planned', to: 'failed', actor: 'executor', edits: { error: shortMessage(err, 300), finished_at: obsidianDateTime(ctx.clock.now()) }, log: { code: (err as VaultrunnerError).code } });
      await ctx.index.refresh(c.path);
      return false;
    }
    const probe = await ctx.agents.probe(agentName, ctx.clock.now());
    if (probe && !probe.ok) return false; // the watchdog reports it once; tasks wait
    faultPoint('before-claim');
    const lease = await ctx.leases.acquire(task.id, task.attempts + 1);
    if (!lease) return false;
    faultPoint('after-claim');
    this.runs.set(task.id, { taskId: task.id } as ActiveRun); // reserve the slot while starting
    let run: ActiveRun | undefined;
    try {
      run = await startRun(ctx, { path: c.path, task, body: c.body, agent: agent!, cwd, permissionMode: mode, lease }, (r, o) => this.finish(r, o));
    } catch (err) {
      ctx.logger.error({ component: 'executor', task: task.id, err }, `${task.id}: could not start: ${shortMessage(err)}`);
    }
    if (!run) {
      this.runs.delete(task.id);
      await ctx.leases.release(lease);
      await ctx.index.refresh(c.path);
      return false;
    }
    this.runs.set(task.id, run);
    faultPoint('mid-run');
    const renew = setInterval(() => void ctx.leases.update(run.lease).catch(() => {}), Math.max(250, ctx.config.leaseTtlMs / 3));
    this.renewTimers.set(task.id, renew);
    await ctx.index.refresh(c.path);
    return true;
  }

  private async finish(r: ActiveRun, o: AgentOutcome): Promise<void> {
    const { ctx } = this;
    r.ended = true;
    clearInterval(this.renewTimers.get(r.taskId));
    this.renewTimers.delete(r.taskId);
    try {
      // A stopped run is recorded only once its whole process tree is gone.
      await r.stopping?.catch(() => undefined);
      // Or its late "session_id recorded" would undo what the outcome records (e.g. what to resume).
      await r.recording;
      const journal = toLeaseOutcome(o, r.stopReason, ctx.clock.now());
      // Journal first: a crash between here and the note write is replayed, not re-run.
      await ctx.leases.update(r.lease, { outcome: journal });
      faultPoint('after-outcome');
      await r.transcript.finish({
        status: r.stopReason && r.stopReason !== 'timeout' ? `stopped (${r.stopReason})` : o.ok ? 'success' : 'failed',
        durationMs: ctx.clock.now() - r.startedAt,
        numTurns: o.numTurns,
        costUsd: o.costUsd,
        permissionDenials: o.permissionDenials,
        error: o.ok ? undefined : o.error.message,
        sessionId: o.sessionId ?? r.sessionId,
      });
      if (o.permissionDenials.length > 0) {
        ctx.logger.warn({ component: 'executor', task: r.taskId, denials: o.permissionDenials }, `${r.taskId}: the agent was denied ${o.permissionDenials.length} tool use(s) (see the run log)`);
      }
      await applyOutcome(ctx, r.path, journal);
      await ctx.leases.release(r.lease);
    } catch (err) {
      ctx.logger.error({ component: 'executor', task: r.taskId, err }, `${r.taskId}: recording the outcome failed: ${shortMessage(err)}; the watchdog will retry`);
    } finally {
      this.runs.delete(r.taskId);
      await ctx.index.refresh(r.path).catch(() => undefined);
      this.kick();
    }
  }
}

/** Runs sharing a working_dir are serialised; tasks without one each get their own scratch dir. */
function dirKey(task: Task): string {
  return task.workingDir ? resolve(task.workingDir) : `scratch:${task.id}`;
}
