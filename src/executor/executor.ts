// The executor runs `planned` tasks: a pass judges each queued task with the one readiness
// function (in dispatch order, so "slot" and "working dir busy" reflect the runs it just started;
// with every slot taken, only the notes that changed: see dispatch), starts the ready ones on
// slots of the shared run machinery, and wakes itself exactly when the earliest retry backoff ends.
import { capabilitiesOf, type AgentOutcome } from '../agents/agent.js';
import { clampPermissionMode } from '../agents/permission.js';
import { clampBudgetUsd } from '../agents/budget.js';
import { obsidianDateTime } from '../clock.js';
import { dispatchOrder } from '../domain/dispatch.js';
import { effectiveStopReason } from '../domain/outcome.js';
import type { Readiness } from '../domain/readiness.js';
import type { Task } from '../domain/task.js';
import { healthOf, probeAgents } from '../engine/agent-health.js';
import { applyOutcome } from '../engine/apply-outcome.js';
import type { EngineContext } from '../engine/context.js';
import type { LiveRun, RunStopReason, StartingRun } from '../engine/run-registry.js';
import { editIfStatus, transition } from '../engine/transition.js';
import { readinessNow, readinessOf, runningSet, type RunningSet, type RunSlot, type WaitSources } from '../engine/wait-facts.js';
import { AgentError, shortMessage, VaultrunnerError } from '../errors.js';
import { faultDiskFull, faultPoint } from '../fault.js';
import { whileDiskFull } from '../engine/disk-full.js';
import { removeRunOutput, runOutputFiles } from '../engine/run-output.js';
import type { IndexEntry } from '../vault/task-index.js';
import { afterAgent, type AfterAgent } from './pipeline/after-agent.js';
import { closeCancelled } from './pipeline/close-workspace.js';
import { DispatchQueue, type Queued } from './dispatch-queue.js';
import { deferTask, prepareWorkspace, type TaskWorkspace } from './pipeline/workspace-step.js';
import { prepareRun, startRun, toRunOutcome } from './run-task.js';
import { afterRemote } from './pipeline/after-remote.js';
import { notOurs, prepareRemote, type LiveRemote, type RemoteHandle, type RemoteRunner, type RemoteWorkspace } from './remote-run.js';
import { appendToTranscript } from '../runs/transcript.js';

/** With every slot taken, how stale a kept verdict may get before a pass judges every task. */
const FULL_PASS_EVERY_MS = 1000;

export class Executor {
  private dispatching = false;
  private again = false;
  private kickTimer: NodeJS.Immediate | undefined;
  private wakeTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  private stopping = false;
  /** The queued tasks in dispatch order, kept between passes (see dispatch). */
  private readonly queue: DispatchQueue;
  /** Each queued task's verdict: judged in the last full pass or since (carried over meanwhile). */
  private verdicts = new Map<string, Readiness>();
  /** Queued tasks whose verdict is not one to carry over (judged ready, yet still queued). */
  private readonly unsettled = new Set<string>();
  /** When each backoff wait among the verdicts ends (the wake timer; a pass after it judges again). */
  private readonly backoffs = new Map<string, number>();
  private lastFullPass = -Infinity;
  private fullDue = false;
  private fullPassTimer: NodeJS.Timeout | undefined;
  private runningFor: { slots: readonly RunSlot[]; set: RunningSet } | undefined;
  /** The workspace of each live run (its git worktree, if any): the steps after the agent need it. */
  private readonly workspaces = new Map<string, TaskWorkspace>();
  /** Each live remote run: its job id, agent, where its branch comes back to, and (re-attached
   *  after a restart) the transcript its summary is appended to. */
  private readonly remotes: Map<string, LiveRemote>;

  /** With `remote` (QUEUE_URL), runs go to remote workers instead of being spawned here. */
  constructor(
    private readonly ctx: EngineContext,
    private readonly remote?: RemoteRunner,
  ) {
    this.remotes = remote?.live ?? new Map();
    this.queue = new DispatchQueue(ctx.index);
  }

  /** Claimed by this service: starting, running, or recording its outcome. */
  isRunning(taskId: string): boolean {
    return this.ctx.runs.has(taskId);
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
    if (this.fullPassTimer) clearTimeout(this.fullPassTimer);
    this.queue.close();
    // Remote runs go on without us: stop following them now (the next start follows them again).
    for (const r of this.ctx.runs.all()) if (this.remotes.has(r.taskId) && r.state !== 'starting') (r.agentRun as RemoteHandle).detach?.();
    await this.ctx.runs.shutdown(graceMs);
  }

  private async dispatch(): Promise<void> {
    const { ctx } = this;
    // Once every slot is taken nothing can start, so a pass judges again only the tasks whose
    // note changed (a new note's problem is reported at once), those judged ready that did not
    // start, and ended backoffs, and keeps the others' verdicts; a full pass follows within
    // FULL_PASS_EVERY_MS, so a reason that changed without its note (a dependency done) shows
    // soon. The queue itself is kept too (DispatchQueue): a pass follows each plan and each
    // run's end, and judging or even walking all N queued tasks each time cost O(N²) for a burst.
    const now = ctx.clock.now();
    const full = this.fullDue || now - this.lastFullPass >= FULL_PASS_EVERY_MS || this.queue.needsRebuild;
    // The readiness rule's own "no free slot", from the same running set it judges with.
    const slotsFull = () => {
      const r = this.running();
      return r.count >= r.max;
    };
    const again = new Set<Queued>();
    if (full) {
      this.queue.rebuild();
      this.verdicts = new Map();
      this.unsettled.clear();
      this.backoffs.clear();
    } else {
      const { changed, gone } = this.queue.sync();
      for (const id of gone) this.forget(id);
      for (const q of changed) again.add(q);
      for (const id of this.unsettled) this.againById(id, again);
      for (const [id, until] of this.backoffs) if (until <= now) this.againById(id, again);
    }
    // With remote workers the agents live there: the queue's reachability is their health here.
    await probeAgents(ctx, [...this.queue.agents()].map((a) => a ?? ctx.config.agent));
    const started: string[] = [];
    let judged = 0;
    const judgeOne = async (q: Queued): Promise<void> => {
      judged++;
      // One task's error (an unsafe folder, a name too long, anything thrown) is that task's alone.
      try {
        await this.judge(q, started);
      } catch (err) {
        ctx.logger.error({ component: 'executor', task: q.id, err }, `${q.id}: dispatch failed for this task: ${shortMessage(err)}`);
        await this.failStart(q, err).catch(() => undefined);
      }
    };
    // In dispatch order while a slot is free, so "slot" and "working dir busy" reflect the runs
    // this pass just started; then (slots full) only the tasks to judge again, in that order.
    const order = this.queue.items();
    let i = 0;
    for (; i < order.length && !this.stopping && (full || !slotsFull()); i++) {
      again.delete(order[i]!);
      await judgeOne(order[i]!);
    }
    for (const q of [...again].sort(dispatchOrder)) if (!this.stopping) await judgeOne(q);
    if (!full && judged < order.length) this.fullPassSoon();
    else {
      this.lastFullPass = now;
      this.fullDue = false;
    }
    let wake: number | undefined;
    for (const until of this.backoffs.values()) wake = Math.min(wake ?? Infinity, until);
    if (wake !== undefined) this.wakeAt(wake);
    // A copy for whoever listens (tests): the map itself goes on changing with later passes.
    if (ctx.events.has('dispatch:pass')) ctx.events.emit('dispatch:pass', { started, verdicts: new Map(this.verdicts) });
  }

  private againById(id: string, again: Set<Queued>): void {
    const q = this.queue.get(id);
    if (q) again.add(q);
    else this.forget(id);
  }

  private setVerdict(id: string, v: Readiness): void {
    this.verdicts.set(id, v);
    if (v.kind === 'waiting' || v.kind === 'problem') this.unsettled.delete(id);
    else this.unsettled.add(id);
    if (v.kind === 'waiting' && v.reason.kind === 'backoff') this.backoffs.set(id, v.reason.until);
    else this.backoffs.delete(id);
  }

  private forget(id: string): void {
    this.verdicts.delete(id);
    this.unsettled.delete(id);
    this.backoffs.delete(id);
  }

  /** After a pass that kept verdicts: a full one within FULL_PASS_EVERY_MS, even with no event. */
  private fullPassSoon(): void {
    if (this.stopping || this.fullPassTimer) return;
    // Real time, and the pass it asks for is full whatever the (injected) clock says.
    this.fullPassTimer = setTimeout(() => {
      this.fullPassTimer = undefined;
      this.fullDue = true;
      this.kick();
    }, FULL_PASS_EVERY_MS);
    this.fullPassTimer.unref();
  }

  private async judge(q: Queued, started: string[]): Promise<void> {
    const { ctx } = this;
    const src: WaitSources = { config: ctx.config, index: ctx.index, taskState: ctx.taskState, now: ctx.clock.now(), running: this.running(), agentHealth: (name) => healthOf(ctx, name) };
    // Most tasks need no waiting for a fact (readinessNow): no promise each.
    const verdict = readinessNow(q.entry, src) ?? (await readinessOf(q.entry, src));
    this.setVerdict(q.id, verdict);
    if (verdict.kind === 'problem') await this.report(q.entry, q.task, verdict.problem);
    else if (verdict.kind === 'ready' && (await this.start(q))) started.push(q.id);
  }

  /** The running set, rebuilt only when the registry's slots changed (a start, an end). */
  private running(): RunningSet {
    const slots = this.ctx.runs.slots();
    if (this.runningFor?.slots !== slots) this.runningFor = { slots, set: runningSet(slots, this.ctx.config.maxConcurrent) };
    return this.runningFor.set;
  }

  /** A task that could not be started fails with the reason (if it is still `planned`); others go on. */
  private async failStart(c: Queued, err: unknown): Promise<void> {
    const code = err instanceof VaultrunnerError ? err.code : (err as NodeJS.ErrnoException | undefined)?.code;
    const error = code && code !== 'AGENT_UNKNOWN' ? `${code}: ${shortMessage(err, 280)}` : shortMessage(err, 300);
    await transition(this.ctx, { path: c.entry.path, taskId: c.task.id, from: 'planned', to: 'failed', actor: 'executor', edits: { error, finished_at: obsidianDateTime(this.ctx.clock.now()) }, log: { code } });
    await this.ctx.index.refresh(c.entry.path);
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

  private async start(c: Queued): Promise<boolean> {
    const { ctx } = this;
    const task = c.task;
    const path = c.entry.path;
    const agentName = task.agent ?? ctx.config.agent;
    const agent = ctx.agents.get(agentName);
    let ws: TaskWorkspace | RemoteWorkspace;
    let mode;
    let budget: number | undefined;
    try {
      if (!agent) throw new VaultrunnerError('AGENT_UNKNOWN', `agent ${JSON.stringify(agentName)} is not configured; configured agents: ${ctx.agents.names().join(', ')}`);
      mode = clampPermissionMode(task.permissionMode, ctx.config.permissionMode);
      if (!capabilitiesOf(agent).permissionModes.includes(mode)) throw new AgentError('PERMISSION_DENIED', `agent ${agent.name} cannot honour permission mode "${mode}"; ask for one of ${capabilitiesOf(agent).permissionModes.join(', ')}`);
      budget = clampBudgetUsd(task.budgetUsd, ctx.config.maxBudgetUsd);
      ws = this.remote ? await prepareRemote(ctx, task) : await prepareWorkspace(ctx, task);
    } catch (err) {
      if (err instanceof VaultrunnerError && err.retryable) {
        await deferTask(ctx, path, task, err);
        await ctx.index.refresh(path);
        return false;
      }
      await this.failStart(c, err);
      return false;
    }
    faultPoint('before-claim');
    // What claim() would refuse (no slot; a lease there, held or stale awaiting the watchdog) is
    // refused before anything is prepared: no transcript for a run that cannot start.
    if (!ctx.runs.canClaim(task.id) || ctx.leases.exists(task.id)) return false;
    const plan = 'plan' in ws ? ws.plan : undefined;
    const local = 'plan' in ws ? undefined : ws;
    const attempt = task.attempts + 1;
    const base = { path, task, body: c.body, agent: agent!, cwd: ws.cwd, permissionMode: mode, noteEdits: ws.edits, maxBudgetUsd: budget, ...(plan ? { where: `the current directory (a checkout of branch ${plan.branch})` } : {}) };
    // The lease, the prompt and transcript, and the note's `executing` all at once (startRun
    // orders what must be ordered on disk): a few ms less between `planned` and the agent's start.
    const claiming = ctx.runs.claim({ taskId: task.id, kind: 'run', path, dirKey: ws.dirKey, attempt });
    const preparing = prepareRun(ctx, { ...base, remote: plan !== undefined }, attempt);
    preparing.catch(() => undefined); // (awaited by startRun)
    const claimed = claiming.then((claim) => ({ claim }), (err: unknown) => ({ claim: undefined, err }));
    let run;
    let failure: unknown;
    try {
      const remote = plan ? { launch: (claim: StartingRun) => this.remote!.launcher(ctx, claim, task, agent!, plan) } : {};
      run = await startRun(ctx, claiming, preparing, { ...base, ...(local?.setup ? { setup: local.setup } : {}), ...remote }, (r, o) => this.finish(r, o));
      if (run && local) this.workspaces.set(task.id, local);
    } catch (err) {
      failure = err;
    }
    const { claim, err: claimErr } = (await claimed) as { claim?: StartingRun; err?: unknown };
    if (claimErr !== undefined) throw claimErr; // the lease could not be written: judge() reports it
    if (!claim) return false; // the lease is someone else's; startRun wrote nothing (its transcript says so)
    if (failure !== undefined) ctx.logger.error({ component: 'executor', task: task.id, err: failure }, `${task.id}: could not start: ${shortMessage(failure)}`);
    if (!run) {
      this.remotes.delete(task.id);
      await ctx.runs.release(task.id);
      // Failed, not retried each pass: e.g. a run folder that is a link out of the vault stays one.
      if (failure !== undefined) await this.failStart(c, failure);
      else await ctx.index.refresh(path);
      return false;
    }
    faultPoint('mid-run');
    await ctx.index.refresh(path);
    return true;
  }

  /** At start, before the watchdog looks at leases: follow again the remote runs a previous
   *  service process started (see RemoteRunner.reattach). Returns their task ids. */
  reattach(): Promise<string[]> {
    return this.remote ? this.remote.reattach(this.ctx, (r, o) => this.finish(r, o)) : Promise.resolve([]);
  }

  private async finish(r: LiveRun, o: AgentOutcome): Promise<void> {
    const { ctx } = this;
    const stopReason = effectiveStopReason(o.ok, r.state === 'stopping' ? r.stopReason : undefined);
    const remote = this.remotes.get(r.taskId);
    if (remote && notOurs(o)) {
      // Detached (this service stops; the run goes on and is followed after the restart), or a
      // result refused by its fencing token: nothing is recorded, the lease stays as it is.
      this.remotes.delete(r.taskId);
      await r.transcript?.finish({ status: 'followed on after the service restarts', durationMs: ctx.clock.now() - r.startedAt }).catch(() => undefined);
      await ctx.runs.release(r.taskId, { keepLease: true });
      return;
    }
    let recorded = false;
    try {
      // A stopped run is recorded only once its whole process tree is gone.
      if (r.state === 'stopping') await r.stopped.catch(() => undefined);
      // Or its late "session_id recorded" would undo what the outcome records (e.g. what to resume).
      await r.session.recording;
      // Commit, gates, review note: only after a successful run that nobody stopped.
      const ws = this.workspaces.get(r.taskId);
      const after: AfterAgent | undefined =
        remote && o.ok && !stopReason ? await afterRemote(ctx, r, o, remote.plan) : ws?.git && o.ok && !stopReason ? await afterAgent(ctx, r, o, ws.git) : undefined;
      const denials = after?.permissionDenials ?? o.permissionDenials;
      // A success the permission ceiling cut short somewhere goes to a person, never silently to done.
      const journal = { ...toRunOutcome(o, stopReason, ctx.clock.now()), agent: r.agent.name, ...(o.ok && denials.length > 0 ? { needsReview: true } : {}), ...after?.journal };
      // Journal first: a crash between here and the note write is replayed, not re-run.
      await whileDiskFull(ctx, r.taskId, 'the outcome', async () => {
        faultDiskFull('record-outcome');
        await ctx.leases.update(r.lease, { outcome: journal });
      });
      faultPoint('after-outcome');
      await r.transcript?.finish({
        status: stopReason && stopReason !== 'timeout' ? `stopped (${stopReason})` : journal.ok ? 'success' : 'failed',
        durationMs: ctx.clock.now() - r.startedAt,
        numTurns: o.numTurns,
        costUsd: o.costUsd,
        permissionDenials: denials,
        error: journal.ok ? undefined : journal.message,
        sessionId: o.sessionId ?? r.session.id,
      });
      if (denials.length > 0) {
        ctx.logger.warn({ component: 'executor', task: r.taskId, denials }, `${r.taskId}: the agent was denied ${denials.length} tool use(s) (see the run log)`);
      }
      if (remote?.reattachedLog) {
        const summary = { status: journal.ok ? 'success' : 'failed', durationMs: ctx.clock.now() - r.startedAt, ...(o.costUsd !== undefined ? { costUsd: o.costUsd } : {}), ...(journal.ok ? {} : { error: journal.message }) };
        await appendToTranscript(ctx.paths.root, remote.reattachedLog, 'The service restarted during this remote run; its entries since are in the worker\'s stream, its result is this.', summary, ctx.clock.now()).catch(() => undefined);
      }
      await whileDiskFull(ctx, r.taskId, 'the outcome', () => applyOutcome(ctx, r.path, journal, { attempt: r.attempt, runLog: r.transcript?.link ?? remote?.reattachedLog }, r.bodyAtStart));
      recorded = true;
      if (remote) await this.remote!.forget(remote.id, remote.agent);
      // Recorded: the raw output was only kept for a restart (the transcript has the record).
      if (r.output) await removeRunOutput(runOutputFiles(ctx.paths, r.output));
      if (ws?.git && stopReason === 'cancel') await closeCancelled(ctx, r.taskId, ws.title, ws.git);
    } catch (err) {
      ctx.logger.error({ component: 'executor', task: r.taskId, err }, `${r.taskId}: recording the outcome failed: ${shortMessage(err)}; the watchdog will retry`);
    } finally {
      // Unrecorded: the lease (with its journal) stays for the watchdog to replay.
      this.workspaces.delete(r.taskId);
      this.remotes.delete(r.taskId);
      await ctx.runs.release(r.taskId, { keepLease: !recorded });
      await ctx.index.refresh(r.path).catch(() => undefined);
      ctx.events.emit('run:end', { taskId: r.taskId, kind: 'run', attempt: r.attempt, ok: o.ok, ...(stopReason ? { stopReason } : {}) });
      this.kick();
    }
  }
}
