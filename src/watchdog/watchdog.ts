// The watchdog: a safety net for run deadlines (each run has its own exact timer), recovery of
// tasks whose lease holder died (killing any orphaned agent or planner first, so two runs of one
// task never overlap), and noticing when an agent CLI cannot be called. Recovery replays a
// journaled outcome through the shared lifecycle code (engine/apply-outcome.ts).
import { healthOf, probeAgents } from '../engine/agent-health.js';
import type { AgentOutcome } from '../agents/agent.js';
import { formatDuration } from '../config/duration.js';
import type { RunOutcome } from '../domain/outcome.js';
import { applyOutcome, toRunOutcome } from '../engine/apply-outcome.js';
import { readRunOutputTail, removeRunOutput, runOutputFiles } from '../engine/run-output.js';
import { appendToTranscript } from '../runs/transcript.js';
import type { EngineContext } from '../engine/context.js';
import { transition } from '../engine/transition.js';
import { shortMessage } from '../errors.js';
import { groupRunning, isAlive, RUN_MARKER_ENV, terminateGroup } from '../os/process.js';
import { sharedScanner } from '../os/proc-scan/proc-scanner.js';
import type { Lease } from '../vault/lease-store.js';
import { ownerState } from '../vault/owner.js';

export class Watchdog {
  private running = false;
  /** Tasks whose agent outlived its service and is being waited for (logged once). */
  private readonly waiting = new Set<string>();
  private readonly reportedAgents = new Map<string, boolean>();

  constructor(
    private readonly ctx: EngineContext,
    /** Asked for a dispatch pass after a recovery or an agent coming back. */
    private readonly onWork: () => void = () => {},
  ) {}

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const recovered: string[] = [];
    try {
      this.timeouts();
      await this.leases(recovered);
      await this.orphanedExecuting(recovered);
      await this.agentHealth();
    } catch (err) {
      this.ctx.logger.error({ component: 'watchdog', err }, `watchdog pass failed: ${shortMessage(err)}`);
    } finally {
      this.running = false;
      this.ctx.events.emit('watchdog:pass', { recovered });
    }
  }

  /** The net under the exact deadline timers (a timer cannot fire while the loop is blocked). */
  private timeouts(): void {
    const now = this.ctx.clock.now();
    for (const r of this.ctx.runs.all()) {
      if (r.state === 'running' && !r.exited && now - r.startedAt > r.timeoutMs) void this.ctx.runs.stop(r.taskId, 'timeout');
    }
  }

  private async leases(recovered: string[]): Promise<void> {
    const { leases } = this.ctx;
    for (const lease of await leases.list()) {
      const mine = leases.isMine(lease);
      // Our own lease without a live run (its bookkeeping failed) is recovered once it expires.
      const stale = mine ? !this.ctx.runs.has(lease.taskId) && lease.expiresAt < this.ctx.clock.now() : leases.isStale(lease);
      if (stale && (await this.recover(lease))) recovered.push(lease.taskId);
    }
  }

  /**
   * Kill what is left of the old run (task attempt or planner), then replay its journaled outcome,
   * record the result its output file holds (it finished while no service was watching), or put
   * the task back. An agent still at work within its deadline, whose result can be read back, is
   * left to finish first: false then (nothing recovered yet; asked again next pass).
   */
  async recover(lease: Lease): Promise<boolean> {
    const { ctx } = this;
    const id = lease.taskId;
    const groups = new Set<number>();
    if (ownerState(lease.owner) !== 'unknown') {
      try {
        for (const g of await sharedScanner().groupsWithEnv(RUN_MARKER_ENV, lease.token)) groups.add(g);
      } catch (err) {
        // Stuck on some process: go on with the pid the lease recorded (scanned again next pass).
        ctx.logger.warn({ component: 'watchdog', task: id, err }, `${id}: could not look for its run's processes: ${shortMessage(err)}`);
      }
      if (lease.run && lease.run.pid > 0 && isAlive(lease.run.pid, lease.run.pidStart) && groupRunning(lease.run.pid)) groups.add(lease.run.pid);
    }
    const entry = ctx.index.byId(id);
    const run = lease.run;
    const readable = lease.attempt > 0 && !lease.outcome && run?.output !== undefined && this.outputReader(run.agent) !== undefined;
    const deadline = run?.timeoutMs !== undefined ? run.startedAt + run.timeoutMs : undefined;
    const stillExecuting = entry?.state.kind === 'task' && entry.state.task.status === 'executing';
    // Its result already in the file (a CLI that lingers after it): no need to wait.
    const result = readable ? await this.readResult(lease) : undefined;
    if (groups.size > 0 && readable && !result && stillExecuting && deadline !== undefined && ctx.clock.now() < deadline && !ctx.runs.closed) {
      if (!this.waiting.has(id)) {
        this.waiting.add(id);
        ctx.logger.info({ component: 'watchdog', task: id, pid: run?.pid }, `${id}: its agent outlived the service that started it; waiting for it to finish (its deadline still holds)`);
      }
      return false;
    }
    this.waiting.delete(id);
    const timedOut = groups.size > 0 && deadline !== undefined && ctx.clock.now() >= deadline;
    for (const pgid of groups) {
      ctx.logger.warn({ component: 'watchdog', task: id, pid: pgid, planner: lease.attempt === 0 }, `${id}: killing orphaned ${lease.attempt === 0 ? 'planner' : 'agent'} process group ${pgid}${timedOut ? ' (past its deadline)' : ''}`);
      await terminateGroup(pgid, ctx.config.killGraceMs);
    }
    if (entry) {
      if (lease.outcome) {
        ctx.logger.info({ component: 'watchdog', task: id }, `${id}: replaying the outcome of an interrupted run`);
        await applyOutcome(ctx, entry.path, lease.outcome, undefined, run?.bodyAtStart);
      } else if (lease.attempt > 0) {
        const found = readable ? await this.finishedOutcome(lease, entry.path, result ?? (await this.readResult(lease)), timedOut && !result) : undefined;
        if (found) {
          ctx.logger.info({ component: 'watchdog', task: id, ok: found.ok }, `${id}: recording the result of a run that ended while the service was down`);
          await applyOutcome(ctx, entry.path, found, { attempt: lease.attempt, ...(run?.transcript ? { runLog: run.transcript } : {}) }, run?.bodyAtStart);
        } else await this.requeue(entry.path, id, run?.sessionId, 'its service stopped mid-run', lease.attempt, run?.bodyAtStart, run?.agent);
      } // a planner (attempt 0) left the note `new`: it is planned again
      await ctx.index.refresh(entry.path);
    }
    if (run?.output) await removeRunOutput(runOutputFiles(ctx.paths, run.output));
    await ctx.leases.forceRemove(id);
    ctx.logger.info({ component: 'watchdog', task: id, owner: lease.owner }, `${id}: recovered stale lease`);
    this.onWork();
    return true;
  }

  private outputReader(agentName: string | undefined): ((stdout: string) => AgentOutcome | undefined) | undefined {
    const agent = agentName ? this.ctx.agents.get(agentName) : undefined;
    return agent?.recoverOutcome?.bind(agent);
  }

  /**
   * The outcome a finished run's output file records (see run-output.ts), or a timeout when the
   * deadline ended it. A success in a git workspace is not recorded here: its commit and gates
   * run only in a live run, so the task resumes its session in the same worktree instead.
   */
  private async readResult(lease: Lease): Promise<AgentOutcome | undefined> {
    const run = lease.run;
    if (!run?.output) return undefined;
    const text = await readRunOutputTail(runOutputFiles(this.ctx.paths, run.output).stdout);
    return text !== undefined ? this.outputReader(run.agent)?.(text) : undefined;
  }

  private async finishedOutcome(lease: Lease, path: string, o: AgentOutcome | undefined, timedOut: boolean): Promise<RunOutcome | undefined> {
    const { ctx } = this;
    const run = lease.run!;
    const now = ctx.clock.now();
    let found: RunOutcome | undefined;
    if (o) found = toRunOutcome(o, undefined, now);
    else if (timedOut) found = { ok: false, code: 'AGENT_TIMEOUT', message: `the agent ran past its deadline (${formatDuration(run.timeoutMs ?? 0)}) while the service was down`, retryable: true, stopReason: 'timeout', sessionId: run.sessionId, finishedAt: now };
    if (!found) return undefined;
    if (found.ok) {
      const note = await ctx.store.read(path).catch(() => undefined);
      if (note?.ok && note.data.base_commit !== undefined) return undefined;
    }
    if (run.transcript) {
      const summary = { status: found.ok ? 'success' : 'failed', durationMs: Math.max(0, now - run.startedAt), costUsd: found.costUsd, sessionId: found.sessionId, ...(found.ok ? {} : { error: found.message }) };
      await appendToTranscript(ctx.paths.root, run.transcript, 'The service was down when this run ended; its result was read from the run\'s output file.', summary, now).catch(() => undefined);
    }
    return found;
  }

  /** `executing` with no lease at all (e.g. the lease file was deleted): nobody is running it. */
  private async orphanedExecuting(recovered: string[]): Promise<void> {
    for (const e of this.ctx.index.withStatus('executing')) {
      if (e.state.kind !== 'task' || this.ctx.runs.has(e.id)) continue;
      if (await this.ctx.leases.get(e.id)) continue;
      await this.requeue(e.path, e.id, e.state.task.sessionId, 'no lease holds it', e.state.task.attempts);
      await this.ctx.index.refresh(e.path);
      recovered.push(e.id);
    }
  }

  private async requeue(path: string, id: string, sessionId: string | undefined, why: string, attempt: number, bodyAtStart?: string, agent?: string): Promise<void> {
    // Decided on the note as it is at write time: while we looked, this executor may have finished
    // that attempt and started the next one, which is not ours to requeue.
    const guard = (data: Record<string, unknown>) => !this.ctx.runs.has(id) && (data.attempts ?? 0) === attempt;
    const written = await transition(this.ctx, { path, taskId: id, from: 'executing', to: 'planned', actor: 'watchdog', guard, log: { reason: why, resume: sessionId } });
    if (!written) return; // never reached `executing` (crash right after the claim): nothing to count
    await this.ctx.taskState.patch(id, (st) => ({ interrupted: (st.interrupted ?? 0) + 1, resumeSession: sessionId ?? st.resumeSession, ...(sessionId && agent ? { sessionAgent: agent } : {}), bodyAtStart: bodyAtStart ?? st.bodyAtStart }));
  }

  /** Probe the agents queued tasks need; report a change of health once, not every tick. */
  private async agentHealth(): Promise<void> {
    const { ctx } = this;
    const wanted = new Set<string>();
    for (const e of ctx.index.withStatus('planned')) {
      if (e.state.kind === 'task') wanted.add(e.state.task.agent ?? ctx.config.agent);
    }
    await probeAgents(ctx, wanted);
    for (const name of wanted) {
      const probe = healthOf(ctx, name);
      if (!probe) continue;
      const before = this.reportedAgents.get(name);
      if (before === probe.ok) continue;
      this.reportedAgents.set(name, probe.ok);
      // Remote workers: the queue says once per outage that Redis is gone and back.
      if (ctx.agentHealth) {
        if (probe.ok && before === false) this.onWork();
        continue;
      }
      if (!probe.ok) ctx.logger.error({ component: 'watchdog', agent: name, detail: probe.detail }, `agent ${name} cannot be called: ${probe.detail}; its tasks wait`);
      else if (before === false) {
        ctx.logger.info({ component: 'watchdog', agent: name, version: ctx.agents.lastProbe(name)?.version }, `agent ${name} is callable again`);
        this.onWork();
      }
    }
  }
}
