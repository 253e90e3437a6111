// Worker side: take jobs for the agents this machine serves, check them against this worker's own
// config (agents, permission ceiling, gates, timeout), run the agent in a prepared workspace, stream
// the transcript back, hand the branch back and report the outcome under the fencing token.
import { realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, sep } from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { AgentOutcome, AgentRun, PermissionMode, StopReason } from '../agents/agent.js';
import { clampBudgetUsd } from '../agents/budget.js';
import { clampPermissionMode } from '../agents/permission.js';
import { RUN_MARKER_ENV } from '../os/process.js';
import type { AgentRegistry } from '../agents/registry.js';
import { AgentError, shortMessage } from '../errors.js';
import { DEFAULT_PREFIX, lockKey, parseRunJob, queueName, runKeys, type RunJob } from './job.js';
import type { GateResult, GateRunner, HandBack, PreparedWorkspace, QueueLogger, WorkspacePort } from './ports.js';
import { Reaper } from './reaper.js';
import { connect, redactUrl, type Connection } from './redis.js';
import { toWire, withRunScripts } from './run-stream.js';
import { runId } from './job-ids.js';
import { commandEnv } from '../workspace/run-command.js';

export interface RemoteWorkerOptions {
  url: string;
  prefix?: string;
  logger: QueueLogger;
  /** The agents this worker's operator configured (binaries, argv). */
  agents: AgentRegistry;
  /** Which of them to take jobs for (default: all). */
  serve?: readonly string[];
  /** Runs at once per served agent. */
  concurrency: number;
  /** This worker's permission ceiling: a job asking for more is refused. */
  permissionCeiling: PermissionMode;
  /** This worker's longest run: a job's timeout is cut to it. */
  maxTimeoutMs: number;
  /** The worker's own MAX_BUDGET_USD: a job's cap is cut to it (undefined: the job's cap only). */
  maxBudgetUsd?: number;
  killGraceMs: number;
  /** Base environment for agents and gates (the queue URL is removed from it). */
  env: NodeJS.ProcessEnv;
  workspace: WorkspacePort;
  gates: GateRunner;
  /** Remote URL prefixes this worker clones from; empty: any. */
  allowedRemotes?: readonly string[];
  workerId?: string;
  /** BullMQ lock duration (default 30 s); a dead worker's job is re-delivered after about this long. */
  lockDurationMs?: number;
  /** How often BullMQ looks for stalled jobs (default 30 s). */
  stalledIntervalMs?: number;
  /** Re-deliveries after stalls before the job fails (default 1). */
  maxStalledCount?: number;
  /** How often a run checks for a stop request or a lost delivery (default 500 ms). */
  controlPollMs?: number;
  keepSec?: number;
}

export interface RunReport {
  reported: 'ok' | 'stale' | 'done' | 'lost';
}

/** Bytes of transcript a run may queue while Redis is away before the rest are dropped (bounds memory). */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** Raw stdout lines a run sends in all (the transcript's .jsonl keeps 8 MiB): bounds what lands in Redis. */
const MAX_RAW_BYTES = 8 * 1024 * 1024;
/** Env names an agent must never see: the worker's own queue credentials. */
const HIDDEN_ENV = /^(QUEUE_URL|REDIS_\w*|VAULTRUNNER_\w+)$/;

export class RemoteWorker {
  readonly id: string;
  private readonly prefix: string;
  private readonly conn: Connection;
  private readonly workers: Worker[] = [];
  private readonly reaper = new Reaper();
  private readonly active = new Map<string, { run?: AgentRun; stopping?: StopReason }>();
  private closing = false;

  constructor(private readonly opts: RemoteWorkerOptions) {
    this.id = opts.workerId ?? `${hostname()}:${process.pid}`;
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.conn = connect(opts.url, opts.logger, 'worker');
  }

  /** The agents this worker takes jobs for. */
  served(): string[] {
    const names = this.opts.serve ?? this.opts.agents.names();
    return names.filter((n) => this.opts.agents.get(n));
  }

  start(): void {
    for (const agent of this.served()) {
      const w = new Worker(queueName(agent), (job, token) => this.process(job, token ?? ''), {
        connection: this.conn.redis,
        prefix: this.prefix,
        concurrency: this.opts.concurrency,
        lockDuration: this.opts.lockDurationMs ?? 30_000,
        stalledInterval: this.opts.stalledIntervalMs ?? 30_000,
        maxStalledCount: this.opts.maxStalledCount ?? 1,
        autorun: true,
      });
      w.on('error', (err) => this.opts.logger.debug({ component: 'worker', err: (err as Error).message }, 'bullmq worker error'));
      w.on('failed', (job, err) => this.opts.logger.warn({ component: 'worker', run: job?.id, err: err.message }, `run ${job?.id ?? '?'} failed in the queue: ${shortMessage(err)}`));
      this.workers.push(w);
    }
    this.opts.logger.info({ component: 'worker', worker: this.id, agents: this.served() }, `worker ${this.id} takes ${this.served().join(', ')} runs from ${redactUrl(this.opts.url)} (concurrency ${this.opts.concurrency} per agent)`);
  }

  /** Stop taking jobs; let runs finish for `graceMs`, then stop them (reported as stopped, retryable). */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.pause(true).catch(() => undefined)));
    const drained = Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
    const timer = setTimeout(() => {
      for (const a of this.active.values()) {
        a.stopping ??= 'shutdown';
        void a.run?.stop('shutdown', this.opts.killGraceMs);
      }
    }, graceMs);
    await drained;
    clearTimeout(timer);
    this.reaper.close();
    await this.conn.close();
  }

  private async process(bjob: Job, token: string): Promise<RunReport> {
    const { logger } = this.opts;
    const id = String(bjob.id);
    const keys = runKeys(this.prefix, id);
    const redis = withRunScripts(this.conn.redis);
    const keepSec = this.opts.keepSec ?? 7 * 86_400;
    const lock = lockKey(this.prefix, bjob.queueName, id);
    const started = await redis.vrStart(keys.stream, keys.meta, lock, token, JSON.stringify({ worker: this.id, attemptsStarted: bjob.attemptsStarted }), keepSec);
    if (started === 'done') {
      logger.info({ component: 'worker', run: id }, `run ${id} was already reported by an earlier delivery; completing it`);
      return { reported: 'done' };
    }
    if (started !== 'ok') return { reported: 'lost' };

    let pendingBytes = 0;
    let rawBytes = 0;
    let dropped = 0;
    const emit = (kind: 'event' | 'raw' | 'note', data: unknown, session = '') => {
      const json = JSON.stringify(data);
      if (kind === 'raw' && (rawBytes += json.length) > MAX_RAW_BYTES) return; // the transcript notes its own cut
      if (pendingBytes + json.length > MAX_PENDING_BYTES) return void dropped++;
      pendingBytes += json.length;
      void redis
        .vrEmit(keys.stream, keys.meta, token, kind, json, session)
        .catch(() => undefined)
        .finally(() => (pendingBytes -= json.length));
    };
    const state: { run?: AgentRun; stopping?: StopReason } = {};
    this.active.set(id, state);
    let ws: PreparedWorkspace | undefined;
    let lost = false;
    let outcome: AgentOutcome;
    let hand: HandBack | undefined;
    let gates: GateResult[] | undefined;
    let job: RunJob | undefined;
    try {
      job = parseRunJob(bjob.data);
      // The id names the run's folder and fences its stream: only the one made from the job's own
      // task, attempt and lease is taken (a hand-written `../x` would name a folder elsewhere).
      if (id !== runId(job)) throw new AgentError('PERMISSION_DENIED', `worker ${this.id} refuses job ${JSON.stringify(id.slice(0, 100))}: its id is not the one of its task, attempt and lease`);
      const agent = this.checkJob(job, bjob.queueName);
      const mode = clampPermissionMode(job.permissionMode, this.opts.permissionCeiling);
      // A re-delivered run continues the session the previous delivery's agent reported.
      const session = (await redis.hget(keys.meta, 'session')) || job.resumeSessionId || undefined;
      emit('note', `Worker ${this.id} prepares the workspace (branch ${job.branch}).`);
      ws = await this.opts.workspace.prepare(job, id).catch((err: Error) => {
        throw new AgentError('WORKSPACE_DENIED', `worker ${this.id} could not prepare the workspace: ${shortMessage(err)}`, { cause: err, retryable: true });
      });
      if (this.closing) throw new AgentError('AGENT_STOPPED', `worker ${this.id} is shutting down`, { retryable: true });
      const cwd = await agentCwd(ws.cwd, job.subdir);
      const run = agent.start({
        taskId: job.taskId,
        attempt: job.attempt,
        prompt: job.prompt,
        cwd,
        model: job.model,
        permissionMode: mode,
        maxBudgetUsd: clampBudgetUsd(job.maxBudgetUsd, this.opts.maxBudgetUsd),
        resumeSessionId: session,
        env: { ...this.agentEnv(), [RUN_MARKER_ENV]: token },
        onRawLine: (line) => emit('raw', line),
        onEvent: (ev) => emit('event', ev, ev.kind === 'init' ? ev.sessionId : ''),
      });
      state.run = run;
      this.reaper.track(run.pid);
      logger.info({ component: 'worker', run: id, task: job.taskId, pid: run.pid, resume: session }, `${job.taskId}: agent ${agent.name} started (run ${id}, pid ${run.pid})`);
      const timeoutMs = Math.min(job.timeoutMs, this.opts.maxTimeoutMs);
      const stop = (why: StopReason) => {
        if (state.stopping) return;
        state.stopping = why;
        emit('note', `Stopping the agent: ${why}.`);
        void run.stop(why, this.opts.killGraceMs);
      };
      const timer = setTimeout(() => stop('timeout'), timeoutMs);
      const control = setInterval(() => {
        void redis
          .multi()
          .get(keys.cancel)
          .hget(keys.meta, 'delivery')
          .exec()
          .then((res) => {
            if (!res || res[1]?.[0]) return; // no answer: nothing is known
            const cancel = res[0]?.[1] as string | null;
            const delivery = res[1]?.[1] as string | null;
            // Another delivery holds the run, or Redis lost it (restarted empty): the coordinator
            // retries it elsewhere, so this agent must stop rather than run beside the retry.
            if (delivery !== token) {
              lost = true;
              stop('cancel');
            } else if (cancel) stop(cancel === 'pause' || cancel === 'timeout' ? cancel : 'cancel');
          })
          .catch(() => undefined); // Redis away: the run goes on and reports when it is back
      }, this.opts.controlPollMs ?? 500);
      outcome = await run.outcome;
      clearTimeout(timer);
      clearInterval(control);
      this.reaper.untrack(run.pid);
      if (!lost) {
        hand = await this.opts.workspace.handBack(job, ws, `${job.taskId}: attempt ${job.attempt} on ${this.id}`);
        if (outcome.ok && job.gates.length > 0 && hand.headCommit) gates = await this.opts.gates.run(job.gates, ws.cwd, commandEnv(this.opts.env, { [RUN_MARKER_ENV]: token, VAULTRUNNER_TASK_ID: job.taskId })); // as local gates: no keys
      }
    } catch (err) {
      const error = err instanceof AgentError ? err : new AgentError('AGENT_FAILED', `worker ${this.id}: ${shortMessage(err, 300)}`, { cause: err, retryable: !isZodError(err) });
      outcome = { ok: false, error, permissionDenials: [], exitCode: null };
    } finally {
      this.active.delete(id);
    }
    if (dropped > 0) emit('note', `${dropped} transcript entries were dropped while Redis was unreachable.`);
    if (lost) {
      logger.warn({ component: 'worker', run: id }, `run ${id}: no longer this delivery's (another worker took it over, or Redis lost it); the agent was stopped and this result is discarded`);
      if (ws) await this.opts.workspace.cleanup(ws, false).catch(() => undefined);
      return { reported: 'stale' };
    }
    const wire = toWire(outcome, {
      leaseToken: job?.leaseToken ?? String((bjob.data as { leaseToken?: unknown })?.leaseToken ?? ''),
      worker: this.id,
      branch: job?.branch,
      headCommit: hand?.headCommit,
      pushed: hand?.pushed,
      handBackError: hand?.error,
      gates,
    });
    const reported = await this.report(keys, token, JSON.stringify(wire));
    if (reported === 'stale') logger.warn({ component: 'worker', run: id }, `run ${id}: the result was refused (another delivery holds the run)`);
    else logger.info({ component: 'worker', run: id, ok: outcome.ok, pushed: hand?.pushed }, `run ${id}: reported ${outcome.ok ? 'success' : `failure (${outcome.error.code})`}`);
    if (ws) await this.opts.workspace.cleanup(ws, hand?.pushed === false && hand.headCommit !== undefined).catch(() => undefined);
    return { reported };
  }

  /** The outcome must reach Redis: retried until it does (ioredis also queues through an outage). */
  private async report(keys: ReturnType<typeof runKeys>, token: string, json: string): Promise<RunReport['reported']> {
    const redis = withRunScripts(this.conn.redis);
    for (let i = 0; ; i++) {
      try {
        return (await redis.vrOutcome(keys.stream, keys.meta, token, json)) as RunReport['reported'];
      } catch (err) {
        if (i === 0) this.opts.logger.warn({ component: 'worker', err: shortMessage(err) }, 'reporting an outcome failed; retrying until Redis takes it');
        await new Promise((r) => setTimeout(r, Math.min(250 * (i + 1), 2000)));
      }
    }
  }

  /** Nothing in a job widens what this worker runs: agent, remote and gates must be this worker's. */
  private checkJob(job: RunJob, queue: string) {
    if (queueName(job.agent) !== queue || !this.served().includes(job.agent)) {
      throw new AgentError('AGENT_UNKNOWN', `worker ${this.id} does not serve agent "${job.agent}"`, { retryable: true });
    }
    const unknown = job.gates.filter((g) => !this.opts.gates.known().includes(g));
    if (unknown.length > 0) throw new AgentError('PERMISSION_DENIED', `worker ${this.id} has no gate(s) ${unknown.join(', ')}; define them in its GATES`);
    const allowed = this.opts.allowedRemotes ?? [];
    if (allowed.length > 0 && !allowed.some((p) => remoteAllowed(job.repoUrl, p))) {
      throw new AgentError('PERMISSION_DENIED', `worker ${this.id} does not clone from ${redactUrl(job.repoUrl)}; see WORKER_REMOTES`);
    }
    return this.opts.agents.get(job.agent)!;
  }

  private agentEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(this.opts.env)) if (!HIDDEN_ENV.test(k)) env[k] = v;
    return env;
  }
}

/** The job's subfolder of the checkout, resolved: it must exist and stay inside the checkout (no link out). */
async function agentCwd(root: string, subdir: string | undefined): Promise<string> {
  if (!subdir) return root;
  const realRoot = await realpath(root);
  const dir = await realpath(join(root, subdir)).catch(() => undefined);
  if (!dir || (dir !== realRoot && !dir.startsWith(realRoot + sep))) {
    throw new AgentError('WORKSPACE_DENIED', `the folder ${JSON.stringify(subdir)} is not in the checkout of the task branch`);
  }
  return dir;
}

/**
 * A WORKER_REMOTES prefix matches whole path segments only (…/team does not allow …/team-evil),
 * and a URL with a `.` or `..` segment (plain or percent-encoded) is never allowed: git and curl
 * resolve them, out of the prefix.
 */
export function remoteAllowed(url: string, prefix: string): boolean {
  if (url.split(/[/:\\]/).some((seg) => /^(\.|%2e){1,2}$/i.test(seg))) return false;
  if (!url.startsWith(prefix)) return false;
  return url.length === prefix.length || /[/:]$/.test(prefix) || /^[/:]/.test(url.slice(prefix.length));
}

function isZodError(err: unknown): boolean {
  return (err as { name?: string })?.name === 'ZodError';
}
