// The run machinery every agent process goes through, task attempts and agent planners alike:
// a slot under MAX_CONCURRENT, a lease (claimed before anything is written), the run marker in
// the child's environment (crash recovery finds it), lease renewal, an exact deadline timer, stop
// and shutdown. A run's state is a typed union: starting → running → stopping.
import type { Agent, AgentRun, StopReason } from '../agents/agent.js';
import { processStartTime, RUN_MARKER_ENV, terminateGroup } from '../os/process.js';
import { sharedScanner } from '../os/proc-scan/proc-scanner.js';
import { shortMessage } from '../errors.js';
import type { RunTranscript } from '../runs/transcript.js';
import type { Lease } from '../vault/lease-store.js';
import type { EngineContext } from './context.js';
import type { RunSlot } from './wait-facts.js';

export type RunKind = 'run' | 'plan';
export type RunStopReason = StopReason | 'moved';

interface RunBase {
  taskId: string;
  kind: RunKind;
  path: string;
  /** Working-dir key (task attempts only; a planner only reads). */
  dirKey?: string;
  lease: Lease;
  attempt: number;
}

/** Claimed (lease held, slot taken); the note is being moved to `executing` or the agent spawned. */
export interface StartingRun extends RunBase {
  state: 'starting';
}

export interface LiveFields {
  agent: Agent;
  agentRun: AgentRun;
  startedAt: number;
  timeoutMs: number;
  /** The attempt's transcript (task attempts). */
  transcript?: RunTranscript;
  /** Name of the files taking the agent's stdout/stderr (run-output.ts), task attempts only. */
  output?: string;
  /** The note's body the attempt started from (Lease.run.bodyAtStart). */
  bodyAtStart?: string;
  /** Shared by every state of the run: the session the agent reported, and its recording (the
   *  outcome is applied after it). */
  session: { id?: string; recording?: Promise<void> };
  /** The process has exited; its outcome is being recorded (the slot is still held). */
  exited: boolean;
  /** Settles once the outcome is recorded and the slot released. */
  done: Promise<void>;
}

export interface RunningRun extends RunBase, LiveFields {
  state: 'running';
}

export interface StoppingRun extends RunBase, LiveFields {
  state: 'stopping';
  stopReason: RunStopReason;
  /** Settles when the process group is gone. */
  stopped: Promise<void>;
}

export type ActiveRun = StartingRun | RunningRun | StoppingRun;
export type LiveRun = RunningRun | StoppingRun;

/** How long a stop waits for a run still being started (a spawn takes milliseconds; this only
 *  bounds a stuck one, which the watchdog's recovery then finds by its run marker). */
const STARTING_WAIT_MS = 30_000;

export class RunRegistry {
  private readonly runs = new Map<string, ActiveRun>();
  /** Slots taken by claims still waiting for their lease. */
  private readonly claiming = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();
  /** Waiting for a starting run to become live or be released (shutdown). */
  private readonly startWaiters = new Map<string, Array<() => void>>();
  private closing = false;
  /** The shutdown's grace is over: a run that starts from now on is stopped at once. */
  private stoppingAll = false;
  /** slots() until runs or claims next change: a dispatch pass asks once per queued task. */
  private slotCache: readonly RunSlot[] | undefined;

  constructor(private readonly ctx: Pick<EngineContext, 'config' | 'leases' | 'clock' | 'logger' | 'events' | 'env'>) {}

  get size(): number {
    return this.runs.size + this.claiming.size;
  }

  all(): ActiveRun[] {
    return [...this.runs.values()];
  }

  get(taskId: string): ActiveRun | undefined {
    return this.runs.get(taskId);
  }

  has(taskId: string): boolean {
    return this.runs.has(taskId) || this.claiming.has(taskId);
  }

  /** An agent process is still running for this task. */
  isLive(taskId: string): boolean {
    const r = this.runs.get(taskId);
    return r !== undefined && r.state !== 'starting' && !r.exited;
  }

  /** The slots taken now; the same array until runs or claims change (do not mutate it). */
  slots(): readonly RunSlot[] {
    return (this.slotCache ??= [
      ...this.all().map((r) => ({ taskId: r.taskId, kind: r.kind, ...(r.dirKey ? { dirKey: r.dirKey } : {}) })),
      ...[...this.claiming].filter((id) => !this.runs.has(id)).map((taskId) => ({ taskId, kind: 'run' as const })),
    ]);
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Whether claim() would try for the lease now (not closing, not held here, a slot free). */
  canClaim(taskId: string): boolean {
    return !(this.closing || this.has(taskId) || this.size >= this.ctx.config.maxConcurrent);
  }

  /**
   * Take a slot and the task's lease. The slot is taken synchronously (before any await), so
   * concurrent callers never exceed MAX_CONCURRENT. Undefined when no slot is free or the lease
   * is held by someone else.
   */
  async claim(input: { taskId: string; kind: RunKind; path: string; dirKey?: string; attempt: number }): Promise<StartingRun | undefined> {
    if (!this.canClaim(input.taskId)) return undefined;
    this.claiming.add(input.taskId);
    this.slotCache = undefined;
    let lease: Lease | undefined;
    try {
      lease = await this.ctx.leases.acquire(input.taskId, input.attempt);
    } finally {
      this.claiming.delete(input.taskId);
      this.slotCache = undefined;
    }
    if (!lease) return undefined;
    // A shutdown began while the lease was being written: nothing starts now (the next start runs it).
    if (this.closing) {
      await this.ctx.leases.release(lease).catch(() => undefined);
      return undefined;
    }
    const run: StartingRun = { ...input, state: 'starting', lease };
    this.runs.set(input.taskId, run);
    this.slotCache = undefined;
    return run;
  }

  /** A run that outlived the service that started it (a remote run) is taken over with its own
   *  lease; it takes a slot like any other. Undefined when the task is already claimed here. */
  adopt(input: { taskId: string; kind: RunKind; path: string; dirKey?: string; attempt: number; lease: Lease }): StartingRun | undefined {
    if (this.closing || this.has(input.taskId)) return undefined;
    const run: StartingRun = { ...input, state: 'starting' };
    this.runs.set(input.taskId, run);
    this.slotCache = undefined;
    return run;
  }

  /** The child's environment: the service's, plus this run's marker. */
  envFor(run: StartingRun): NodeJS.ProcessEnv {
    return { ...this.ctx.env, [RUN_MARKER_ENV]: run.lease.token };
  }

  /** starting → running: the agent was spawned. Records its pid, renews the lease, arms the deadline. */
  async started(run: StartingRun, live: Omit<LiveFields, 'exited' | 'done'>, onExit: (r: LiveRun) => Promise<void>): Promise<RunningRun> {
    let settle = () => {};
    const done = new Promise<void>((res) => (settle = res));
    const running: RunningRun = { ...run, ...live, state: 'running', exited: false, done };
    this.runs.set(run.taskId, running);
    this.slotCache = undefined;
    void live.agentRun.outcome
      .then(async () => {
        const cur = this.runs.get(run.taskId);
        const last: LiveRun = cur && cur.state !== 'starting' ? cur : running;
        last.exited = true;
        this.clearTimers(run.taskId);
        await this.sweep(run);
        await onExit(last);
      })
      .finally(settle);
    const renew = setInterval(() => void this.ctx.leases.update(run.lease).catch(() => {}), Math.max(250, this.ctx.config.leaseTtlMs / 3));
    // Exact: the stop is due at the deadline, not at the watchdog's next pass (its check stays as a net).
    const deadline = setTimeout(() => void this.stop(run.taskId, 'timeout'), Math.max(0, live.startedAt + live.timeoutMs - this.ctx.clock.now()));
    this.timers.set(run.taskId, [renew, deadline]);
    this.startSettled(run.taskId);
    this.ctx.events.emit('run:start', { taskId: run.taskId, kind: run.kind, attempt: run.attempt, pid: live.agentRun.pid });
    if (this.stoppingAll) void this.stop(run.taskId, 'shutdown');
    // pid 0 means the spawn failed; never record it (kill(-0) would signal our own group).
    const pid = live.agentRun.pid;
    if (pid > 0) await this.ctx.leases.update(run.lease, { attempt: run.attempt, run: { pid, pidStart: processStartTime(pid), startedAt: live.startedAt, agent: live.agent.name, timeoutMs: live.timeoutMs, ...(live.output ? { output: live.output } : {}), ...(live.transcript ? { transcript: live.transcript.link } : {}), ...(live.bodyAtStart !== undefined ? { bodyAtStart: live.bodyAtStart } : {}) } }).catch(() => false);
    return running;
  }

  /** Stop a live run (SIGTERM to its group, SIGKILL after KILL_GRACE); resolves when it is gone. */
  async stop(taskId: string, reason: RunStopReason): Promise<void> {
    const r = this.runs.get(taskId);
    if (!r || r.state !== 'running' || r.exited) return;
    r.transcript?.note(`Stopping the agent: ${reason === 'timeout' ? `timeout after ${Math.round(r.timeoutMs / 1000)}s` : reason}.`);
    this.ctx.logger.info({ component: reason === 'timeout' ? 'watchdog' : r.kind === 'plan' ? 'orchestrator' : 'executor', task: taskId, reason, kind: r.kind }, `${taskId}: stopping ${r.kind === 'plan' ? 'planner' : 'agent'} (${reason})`);
    const stopped = r.agentRun.stop(reason === 'moved' ? 'cancel' : reason, this.ctx.config.killGraceMs);
    const stopping: StoppingRun = { ...r, state: 'stopping', stopReason: reason, stopped };
    this.runs.set(taskId, stopping);
    this.slotCache = undefined;
    this.ctx.events.emit('run:stop', { taskId, kind: r.kind, reason });
    await stopped;
  }

  /**
   * At every run's end (normal exit, timeout, cancel): processes that left the agent's group
   * (setsid) still carry the run marker; their groups are stopped too.
   */
  private async sweep(run: RunBase): Promise<void> {
    let groups: number[];
    try {
      groups = await sharedScanner().groupsWithEnv(RUN_MARKER_ENV, run.lease.token);
    } catch (err) {
      // A stuck scan must not hold the run's end; the watchdog's recovery scans again if need be.
      this.ctx.logger.warn({ component: 'executor', task: run.taskId, err }, `${run.taskId}: could not look for processes the agent left behind: ${shortMessage(err)}`);
      return;
    }
    if (groups.length === 0) return;
    this.ctx.logger.info({ component: 'executor', task: run.taskId, groups }, `${run.taskId}: stopping ${groups.length} process group(s) the agent left behind`);
    await Promise.all(groups.map((g) => terminateGroup(g, this.ctx.config.killGraceMs).catch(() => undefined)));
  }

  /** Free the slot (and, unless kept for the watchdog, the lease). */
  async release(taskId: string, opts: { keepLease?: boolean } = {}): Promise<void> {
    const r = this.runs.get(taskId);
    if (!r) return;
    this.clearTimers(taskId);
    this.runs.delete(taskId);
    this.slotCache = undefined;
    this.startSettled(taskId);
    if (!opts.keepLease && r.lease) await this.ctx.leases.release(r.lease).catch(() => undefined);
  }

  /** Stop claiming; let runs finish for `graceMs`, then stop them (they resume on next start). */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    // A run still starting has an agent about to exist: it is waited for like the others, so no
    // agent is spawned after the service said it stopped.
    const settled = async (r: ActiveRun): Promise<void> => {
      if (r.state === 'starting' && !(await this.untilStarted(r.taskId))) return;
      const now = this.runs.get(r.taskId);
      if (now && now.state !== 'starting') await now.done;
    };
    const all = () => Promise.all(this.all().map(settled));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([all().then(() => false), new Promise<boolean>((res) => (timer = setTimeout(() => res(true), graceMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      this.stoppingAll = true;
      await Promise.all(this.all().map((r) => this.stop(r.taskId, 'shutdown')));
    }
    await all();
    this.stoppingAll = true; // whatever still comes to start after this is stopped at once
  }

  /** Resolves true once a starting run is live or released, false after STARTING_WAIT_MS. */
  private untilStarted(taskId: string): Promise<boolean> {
    return new Promise((res) => {
      const timer = setTimeout(() => {
        this.ctx.logger.warn({ component: 'executor', task: taskId }, `${taskId}: its agent was still starting ${STARTING_WAIT_MS / 1000}s into the stop; stopping without it`);
        res(false);
      }, STARTING_WAIT_MS);
      const list = this.startWaiters.get(taskId) ?? [];
      list.push(() => (clearTimeout(timer), res(true)));
      this.startWaiters.set(taskId, list);
    });
  }

  private startSettled(taskId: string): void {
    const list = this.startWaiters.get(taskId);
    this.startWaiters.delete(taskId);
    for (const f of list ?? []) f();
  }

  private clearTimers(taskId: string): void {
    for (const t of this.timers.get(taskId) ?? []) clearTimeout(t);
    this.timers.delete(taskId);
  }
}
