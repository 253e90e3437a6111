// The watchdog: a safety net for run deadlines (each run has its own exact timer), recovery of
// tasks whose lease holder died (killing any orphaned agent or planner first, so two runs of one
// task never overlap), and noticing when an agent CLI cannot be called. Recovery replays a
// journaled outcome through the shared lifecycle code (engine/apply-outcome.ts).
import { healthOf, probeAgents } from '../engine/agent-health.js';
import { applyOutcome } from '../engine/apply-outcome.js';
import type { EngineContext } from '../engine/context.js';
import { transition } from '../engine/transition.js';
import { shortMessage } from '../errors.js';
import { groupAlive, groupsWithEnv, isAlive, RUN_MARKER_ENV, terminateGroup } from '../os/process.js';
import type { Lease } from '../vault/lease-store.js';
import { ownerState } from '../vault/owner.js';

export class Watchdog {
  private running = false;
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
      if (stale) {
        await this.recover(lease);
        recovered.push(lease.taskId);
      }
    }
  }

  /** Kill what is left of the old run (task attempt or planner), then replay its journaled outcome or put the task back. */
  async recover(lease: Lease): Promise<void> {
    const { ctx } = this;
    const id = lease.taskId;
    if (ownerState(lease.owner) !== 'unknown') {
      const groups = new Set(groupsWithEnv(RUN_MARKER_ENV, lease.token));
      if (lease.run && lease.run.pid > 0 && isAlive(lease.run.pid, lease.run.pidStart) && groupAlive(lease.run.pid)) groups.add(lease.run.pid);
      for (const pgid of groups) {
        ctx.logger.warn({ component: 'watchdog', task: id, pid: pgid, planner: lease.attempt === 0 }, `${id}: killing orphaned ${lease.attempt === 0 ? 'planner' : 'agent'} process group ${pgid}`);
        await terminateGroup(pgid, ctx.config.killGraceMs);
      }
    }
    const entry = ctx.index.byId(id);
    if (entry) {
      if (lease.outcome) {
        ctx.logger.info({ component: 'watchdog', task: id }, `${id}: replaying the outcome of an interrupted run`);
        await applyOutcome(ctx, entry.path, lease.outcome);
      } else if (lease.attempt > 0) {
        await this.requeue(entry.path, id, lease.run?.sessionId, 'its service stopped mid-run', lease.attempt);
      } // a planner (attempt 0) left the note `new`: it is planned again
      await ctx.index.refresh(entry.path);
    }
    await ctx.leases.forceRemove(id);
    ctx.logger.info({ component: 'watchdog', task: id, owner: lease.owner }, `${id}: recovered stale lease`);
    this.onWork();
  }

  /** `executing` with no lease at all (e.g. the lease file was deleted): nobody is running it. */
  private async orphanedExecuting(recovered: string[]): Promise<void> {
    for (const e of this.ctx.index.entries()) {
      if (e.state.kind !== 'task' || e.state.task.status !== 'executing' || this.ctx.runs.has(e.id)) continue;
      if (await this.ctx.leases.get(e.id)) continue;
      await this.requeue(e.path, e.id, e.state.task.sessionId, 'no lease holds it', e.state.task.attempts);
      await this.ctx.index.refresh(e.path);
      recovered.push(e.id);
    }
  }

  private async requeue(path: string, id: string, sessionId: string | undefined, why: string, attempt: number): Promise<void> {
    // Decided on the note as it is at write time: while we looked, this executor may have finished
    // that attempt and started the next one, which is not ours to requeue.
    const guard = (data: Record<string, unknown>) => !this.ctx.runs.has(id) && (data.attempts ?? 0) === attempt;
    const written = await transition(this.ctx, { path, taskId: id, from: 'executing', to: 'planned', actor: 'watchdog', guard, log: { reason: why, resume: sessionId } });
    if (!written) return; // never reached `executing` (crash right after the claim): nothing to count
    await this.ctx.taskState.patch(id, (st) => ({ interrupted: (st.interrupted ?? 0) + 1, resumeSession: sessionId ?? st.resumeSession }));
  }

  /** Probe the agents queued tasks need; report a change of health once, not every tick. */
  private async agentHealth(): Promise<void> {
    const { ctx } = this;
    const wanted = new Set<string>();
    for (const e of ctx.index.entries()) {
      if (e.state.kind === 'task' && e.state.task.status === 'planned') wanted.add(e.state.task.agent ?? ctx.config.agent);
    }
    await probeAgents(ctx, wanted);
    for (const name of wanted) {
      const probe = healthOf(ctx, name);
      if (!probe) continue;
      const before = this.reportedAgents.get(name);
      if (before === probe.ok) continue;
      this.reportedAgents.set(name, probe.ok);
      if (!probe.ok) ctx.logger.error({ component: 'watchdog', agent: name, detail: probe.detail }, `agent ${name} cannot be called: ${probe.detail}; its tasks wait`);
      else if (before === false) {
        ctx.logger.info({ component: 'watchdog', agent: name, version: ctx.agents.lastProbe(name)?.version }, `agent ${name} is callable again`);
        this.onWork();
      }
    }
  }
}
