// The watchdog: stops runs that pass their timeout, recovers tasks whose lease holder died (killing
// any orphaned agent first, so two runs of one task never overlap), and notices when an agent CLI
// cannot be called.
import { groupAlive, groupsWithEnv, isAlive, RUN_MARKER_ENV, terminateGroup } from '../agents/process-group.js';
import { shortMessage } from '../errors.js';
import { applyOutcome } from '../executor/apply-outcome.js';
import type { Executor } from '../executor/executor.js';
import type { EngineContext } from '../lifecycle/context.js';
import { transition } from '../lifecycle/transition.js';
import type { Lease } from '../vault/lease-store.js';
import { ownerState } from '../vault/owner.js';


export class Watchdog {
  private running = false;
  private readonly reportedAgents = new Map<string, boolean>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly executor: Executor,
  ) {}

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.timeouts();
      await this.leases();
      await this.orphanedExecuting();
      await this.agentHealth();
    } catch (err) {
      this.ctx.logger.error({ component: 'watchdog', err }, `watchdog pass failed: ${shortMessage(err)}`);
    } finally {
      this.running = false;
    }
  }

  private async timeouts(): Promise<void> {
    const now = this.ctx.clock.now();
    for (const r of this.executor.active()) {
      if (r.run && !r.stopReason && now - r.startedAt > r.timeoutMs) void this.executor.stopRun(r.taskId, 'timeout');
    }
  }

  private async leases(): Promise<void> {
    const { leases } = this.ctx;
    for (const lease of await leases.list()) {
      const mine = leases.isMine(lease);
      // Our own lease without a live run (its bookkeeping failed) is recovered once it expires.
      const stale = mine ? !this.executor.isRunning(lease.taskId) && lease.expiresAt < this.ctx.clock.now() : leases.isStale(lease);
      if (stale) await this.recover(lease);
    }
  }

  /** Kill what is left of the old run, then replay its journaled outcome or put the task back. */
  async recover(lease: Lease): Promise<void> {
    const { ctx } = this;
    const id = lease.taskId;
    if (ownerState(lease.owner) !== 'unknown') {
      const groups = new Set(groupsWithEnv(RUN_MARKER_ENV, lease.token));
      if (lease.run && lease.run.pid > 0 && isAlive(lease.run.pid, lease.run.pidStart) && groupAlive(lease.run.pid)) groups.add(lease.run.pid);
      for (const pgid of groups) {
        ctx.logger.warn({ component: 'watchdog', task: id, pid: pgid }, `${id}: killing orphaned agent process group ${pgid}`);
        await terminateGroup(pgid, ctx.config.killGraceMs);
      }
    }
    const entry = ctx.index.byId(id);
    if (entry) {
      if (lease.outcome) {
        ctx.logger.info({ component: 'watchdog', task: id }, `${id}: replaying the outcome of an interrupted run`);
        await applyOutcome(ctx, entry.path, lease.outcome);
      } else {
        await this.requeue(entry.path, id, lease.run?.sessionId, 'its service stopped mid-run', lease.attempt);
      }
      await ctx.index.refresh(entry.path);
    }
    await ctx.leases.forceRemove(id);
    ctx.logger.info({ component: 'watchdog', task: id, owner: lease.owner }, `${id}: recovered stale lease`);
    this.executor.kick();
  }

  /** `executing` with no lease at all (e.g. the lease file was deleted): nobody is running it. */
  private async orphanedExecuting(): Promise<void> {
    for (const e of this.ctx.index.entries()) {
      if (e.state.kind !== 'task' || e.state.task.status !== 'executing' || this.executor.isRunning(e.id)) continue;
      if (await this.ctx.leases.get(e.id)) continue;
      await this.requeue(e.path, e.id, e.state.task.sessionId, 'no lease holds it', e.state.task.attempts);
      await this.ctx.index.refresh(e.path);
    }
  }

  private async requeue(path: string, id: string, sessionId: string | undefined, why: string, attempt: number): Promise<void> {
    // Decided on the note as it is at write time: while we looked, this executor may have finished
    // that attempt and started the next one, which is not ours to requeue.
    const guard = (data: Record<string, unknown>) => !this.executor.isRunning(id) && (data.attempts ?? 0) === attempt;
    const written = await transition(this.ctx.store, this.ctx.logger, { path, taskId: id, from: 'executing', to: 'planned', actor: 'watchdog', guard, log: { reason: why, resume: sessionId } });
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
    for (const name of wanted) {
      const probe = await ctx.agents.probe(name, ctx.clock.now());
      if (!probe) continue;
      const before = this.reportedAgents.get(name);
      if (before === probe.ok) continue;
      this.reportedAgents.set(name, probe.ok);
      if (!probe.ok) ctx.logger.error({ component: 'watchdog', agent: name, detail: probe.detail }, `agent ${name} cannot be called: ${probe.detail}; its tasks wait`);
      else if (before === false) {
        ctx.logger.info({ component: 'watchdog', agent: name, version: probe.version }, `agent ${name} is callable again`);
        this.executor.kick();
      }
    }
  }
}
