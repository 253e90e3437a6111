// Coordinator side: a claimed run becomes a BullMQ job; its transcript and outcome come back over a
// Redis stream per run. The handle looks like a local AgentRun (an id instead of a pid), its outcome
// never rejects, and a result is accepted only under the lease that dispatched it (fencing).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AgentEvent, StopReason } from '../agents/agent.js';
import { AgentError, shortMessage, VaultrunnerError } from '../errors.js';
import { DEFAULT_PREFIX, parseRunJob, queueName, runId, runKeys, type RunJob, type RunJobInput } from './job.js';
export { DEFAULT_PREFIX };
import type { CursorStore, LeaseCheck, QueueLogger } from './ports.js';
import { connect, redactUrl, type Connection } from './redis.js';
import { withoutCredentials } from './repo-url.js';
import { fromWire, isAgentEvent, parseEntries, type RemoteOutcome, type StartInfo, type StreamEntry, type WireOutcome } from './run-stream.js';

export interface RemoteDispatcherOptions {
  /** QUEUE_URL: redis://[:password@]host:port[/db] or rediss://. */
  url: string;
  /** Key prefix shared with the workers (default `vaultrunner`). */
  prefix?: string;
  logger: QueueLogger;
  /** Is the lease that dispatched a run still the task's current one? */
  leases: LeaseCheck;
  /** Last stream entry read per run, so a restarted coordinator resumes without repeating. */
  cursors: CursorStore;
  /** XREAD block time (default 1 s). */
  blockMs?: number;
  /** How often a run without an outcome checks its job's state (default 2 s). */
  statePollMs?: number;
  /** How long finished jobs, streams and stop requests are kept in Redis (default 7 days). */
  keepSec?: number;
}

export interface RemoteRunHooks {
  onEvent?: (event: AgentEvent) => void;
  onRawLine?: (line: string) => void;
  /** A remark for the transcript, e.g. which worker took the run. */
  onNote?: (text: string) => void;
  onStart?: (info: StartInfo & { delivery: string }) => void;
}

export interface RemoteRun {
  /** The BullMQ job id (stable for task id + attempt + lease token). */
  readonly id: string;
  /** Always 0: the process runs on another machine. Kept so the handle fits where an AgentRun does. */
  readonly pid: 0;
  /** Settles with the worker's accepted result, or a failure when the job is lost; never rejects. */
  readonly outcome: Promise<RemoteOutcome>;
  /**
   * Ask the worker to stop the agent (it honours it within a second or so) and wait for the result
   * at most `graceMs` + 10 s. `shutdown` only detaches this coordinator: the remote run goes on and
   * is picked up again by dispatching the same job after a restart.
   */
  stop(reason: StopReason, graceMs?: number): Promise<void>;
}

type XReadReply = Array<[string, Array<[string, string[]]>]> | null;

const WAIT_AFTER_STOP_MS = 10_000;

export class RemoteDispatcher {
  readonly prefix: string;
  private readonly conn: Connection;
  private readonly queues = new Map<string, Queue>();
  private readonly runs = new Set<RunReader>();
  private closed = false;

  constructor(private readonly opts: RemoteDispatcherOptions) {
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.conn = connect(opts.url, opts.logger, 'dispatch');
  }

  /** Connected to Redis right now (no round trip): new runs are dispatched only then. */
  health(): { ok: boolean; detail: string } {
    const where = redactUrl(this.opts.url);
    return this.conn.redis.status === 'ready' ? { ok: true, detail: `queue on Redis at ${where}` } : { ok: false, detail: `the queue's Redis at ${where} is unreachable; new runs wait until it is back` };
  }

  /** Is Redis answering now? For `doctor` and the Dashboard. */
  async ping(timeoutMs = 2000): Promise<{ ok: boolean; detail: string }> {
    const where = redactUrl(this.opts.url);
    if (this.conn.redis.status !== 'ready') return { ok: false, detail: `Redis at ${where} is unreachable (${this.conn.redis.status})` };
    const answer = await Promise.race([this.conn.redis.ping().catch((e: Error) => e.message), new Promise<string>((r) => setTimeout(() => r('no answer'), timeoutMs).unref())]);
    return answer === 'PONG' ? { ok: true, detail: `Redis at ${where} answers` } : { ok: false, detail: `Redis at ${where}: ${answer}` };
  }

  /**
   * Enqueue a claimed run (idempotent for the same task id + attempt + lease token) and follow it.
   * Calling it again after a coordinator restart re-attaches to the same job and resumes its stream
   * from the saved cursor. Throws QUEUE_JOB_INVALID at once when the job does not validate. The
   * job goes without the credentials its `repoUrl` may hold: workers use their own.
   */
  dispatch(input: RunJobInput, hooks: RemoteRunHooks = {}): RemoteRun {
    if (this.closed) throw new VaultrunnerError('QUEUE_UNAVAILABLE', 'the remote dispatcher is closed');
    let job: RunJob;
    try {
      // Every job reaches Redis here: credentials in the origin URL never go with it (also in a
      // job saved before they were stripped and dispatched again after a restart).
      job = parseRunJob({ ...input, repoUrl: withoutCredentials(input.repoUrl) });
    } catch (err) {
      throw new VaultrunnerError('QUEUE_JOB_INVALID', `remote run for ${input.taskId} is invalid: ${shortMessage(err)}`, { cause: err });
    }
    const reader = new RunReader(this, job, hooks);
    this.runs.add(reader);
    void reader.outcome.finally(() => this.runs.delete(reader));
    reader.begin();
    return reader;
  }

  /** Drop a finished run's job, stream and cursor (call after its outcome is journaled). */
  async forget(id: string, agent: string): Promise<void> {
    const keys = runKeys(this.prefix, id);
    await this.conn.redis.del(keys.stream, keys.meta, keys.cancel);
    await this.queue(agent).remove(id).catch(() => 0);
    await this.opts.cursors.delete(id);
  }

  /** Detach from every run (they go on remotely) and close the connections. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.runs) r.detach();
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    await this.conn.close();
  }

  /** @internal */
  queue(agent: string): Queue {
    let q = this.queues.get(agent);
    if (!q) {
      q = new Queue(queueName(agent), { connection: this.conn.redis, prefix: this.prefix });
      // Connection trouble is logged once by connect(); BullMQ's own copies would only repeat it.
      q.on('error', (err) => this.opts.logger.debug({ component: 'queue', err: (err as Error).message }, 'queue error'));
      this.queues.set(agent, q);
    }
    return q;
  }

  /** @internal */
  get ctx() {
    return { opts: this.opts, redis: this.conn.redis, prefix: this.prefix, keepSec: this.opts.keepSec ?? 7 * 86_400 };
  }
}

/** One dispatched run: enqueue, then read its stream until an accepted outcome. */
class RunReader implements RemoteRun {
  readonly id: string;
  readonly pid = 0 as const;
  readonly outcome: Promise<RemoteOutcome>;
  private settle!: (o: RemoteOutcome) => void;
  private settled = false;
  private detached = false;
  private reader: Redis | undefined;
  private delivery: string | undefined;
  private readonly keys;
  private readonly log: QueueLogger;

  constructor(
    private readonly d: RemoteDispatcher,
    private readonly job: RunJob,
    private readonly hooks: RemoteRunHooks,
  ) {
    this.id = runId(job);
    this.keys = runKeys(d.prefix, this.id);
    this.log = d.ctx.opts.logger;
    this.outcome = new Promise((r) => (this.settle = r));
  }

  begin(): void {
    void this.loop().catch((err) => this.finish(lost(`following the remote run failed: ${shortMessage(err)}`)));
  }

  async stop(reason: StopReason, graceMs = 5000): Promise<void> {
    if (this.settled) return;
    if (reason === 'shutdown') return this.detach();
    const { redis, keepSec } = this.d.ctx;
    await redis.set(this.keys.cancel, reason, 'EX', keepSec);
    await Promise.race([this.outcome, new Promise((r) => setTimeout(r, graceMs + WAIT_AFTER_STOP_MS).unref())]);
  }

  detach(): void {
    this.detached = true;
    this.reader?.disconnect();
  }

  private finish(o: RemoteOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.reader?.disconnect();
    this.settle(o);
  }

  private async loop(): Promise<void> {
    const { opts, redis } = this.d.ctx;
    const queue = this.d.queue(this.job.agent);
    // Resolves once Redis takes it (commands wait in ioredis' queue while Redis is down).
    await queue.add(this.job.taskId, this.job, {
      jobId: this.id,
      attempts: 1, // a failed run is retried by the engine with a new lease, not by BullMQ
      removeOnComplete: { age: this.d.ctx.keepSec },
      removeOnFail: { age: this.d.ctx.keepSec },
    });
    this.log.info({ component: 'queue', task: this.job.taskId, run: this.id, agent: this.job.agent }, `${this.job.taskId}: dispatched to the ${this.job.agent} queue (run ${this.id})`);
    // A connection of its own: XREAD BLOCK would hold up every other command on a shared one.
    this.reader = redis.duplicate();
    this.reader.on('error', () => {}); // the main connection reports outages once
    let cursor = (await opts.cursors.get(this.id)) ?? '0-0';
    // Re-attached after a restart: entries after the cursor belong to the last delivery started before it.
    if (cursor !== '0-0') {
      const back = parseEntries((await redis.xrevrange(this.keys.stream, cursor, '-', 'COUNT', 1000)) as Array<[string, string[]]>);
      this.delivery = back.find((e) => e.kind === 'start')?.delivery ?? undefined;
    }
    let lastStateCheck = 0;
    const pollMs = opts.statePollMs ?? 2000;
    while (!this.settled && !this.detached) {
      let reply: XReadReply = null;
      try {
        reply = (await this.reader.xread('COUNT', 500, 'BLOCK', opts.blockMs ?? 1000, 'STREAMS', this.keys.stream, cursor)) as XReadReply;
      } catch (err) {
        if (this.detached || this.settled) return;
        await new Promise((r) => setTimeout(r, 250)); // disconnected: ioredis reconnects, we read on
        continue;
      }
      const raw = reply?.[0]?.[1] ?? [];
      const entries = parseEntries(raw);
      // The cursor advances only past what was handed on: a detach mid-batch repeats nothing.
      let upTo = raw.at(-1)?.[0];
      for (const e of entries) {
        if (this.detached) {
          upTo = prevId(raw, e.id);
          break;
        }
        await this.take(e);
        if (this.settled) break;
      }
      if (upTo && upTo !== cursor) {
        cursor = upTo;
        await opts.cursors.set(this.id, cursor);
      }
      if (this.detached) return;
      if (!this.settled && Date.now() - lastStateCheck >= pollMs) {
        lastStateCheck = Date.now();
        await this.checkJob(queue, entries.length > 0);
      }
    }
  }

  private async take(e: StreamEntry): Promise<void> {
    const h = this.hooks;
    try {
      if (e.kind === 'start') {
        const info = e.data as StartInfo;
        this.delivery = e.delivery;
        h.onNote?.(`Running on worker ${String(info.worker)} (delivery ${Number(info.attemptsStarted)}).`);
        h.onStart?.({ ...info, delivery: e.delivery });
        return;
      }
      if (e.delivery !== this.delivery) return refuse(this, e, 'not from the current delivery');
      if (e.kind === 'event' && isAgentEvent(e.data)) h.onEvent?.(e.data);
      else if (e.kind === 'raw' && typeof e.data === 'string') h.onRawLine?.(e.data);
      else if (e.kind === 'note' && typeof e.data === 'string') h.onNote?.(e.data);
      else if (e.kind === 'outcome') await this.takeOutcome(e);
    } catch (err) {
      this.log.warn({ component: 'queue', run: this.id, err: shortMessage(err) }, 'a transcript sink failed');
    }
  }

  private async takeOutcome(e: StreamEntry): Promise<void> {
    const w = e.data as WireOutcome;
    if (w?.leaseToken !== this.job.leaseToken) return refuse(this, e, 'its fencing token is not the one this run was dispatched with');
    if (!(await this.d.ctx.opts.leases.isCurrent(this.job.taskId, w.leaseToken))) {
      refuse(this, e, 'its fencing token is no longer the current lease');
      const o = fromWire(w);
      // The lease moved on (the task was re-claimed): this run's result must not be applied.
      this.finish({ ok: false, error: new AgentError('AGENT_STOPPED', 'the remote result was refused: its lease is no longer current', { retryable: false }), permissionDenials: [], exitCode: null, remote: { ...o.remote!, refused: 'stale-lease' } });
      return;
    }
    this.finish(fromWire(w));
  }

  /** A job can end without an outcome in the stream: stalled too often, or gone with Redis' data. */
  private async checkJob(queue: Queue, sawEntries: boolean): Promise<void> {
    if (sawEntries) return;
    const state = await queue.getJobState(this.id).catch(() => undefined);
    if (state === 'failed') {
      const job = await queue.getJob(this.id).catch(() => undefined);
      this.finish(lost(`the remote run failed: ${shortMessage(job?.failedReason ?? 'unknown reason')}`));
    } else if (state === 'unknown') {
      this.finish(lost('the remote job is gone (was Redis emptied?)'));
    }
    else if (state === 'completed') {
      // Completed, yet no outcome read past our cursor (e.g. a second reader of the same run moved
      // the shared cursor on): the outcome entry is near the stream's end; take it from there.
      const tail = (await this.d.ctx.redis.xrevrange(this.keys.stream, '+', '-', 'COUNT', 100)) as Array<[string, string[]]>;
      const outcome = parseEntries(tail).find((e) => e.kind === 'outcome');
      const delivery = await this.d.ctx.redis.hget(this.keys.meta, 'delivery');
      if (outcome && outcome.delivery === delivery) {
        this.delivery = delivery;
        await this.takeOutcome(outcome);
      } else if (!outcome) this.finish(lost('the remote job completed without reporting an outcome'));
    }
  }
}

/** The raw entry id just before `id` in a batch (the last one handed on), or undefined. */
function prevId(raw: Array<[string, string[]]>, id: string): string | undefined {
  const i = raw.findIndex(([rid]) => rid === id);
  return i > 0 ? raw[i - 1]![0] : undefined;
}

function refuse(r: RunReader, e: StreamEntry, why: string): void {
  const worker = (e.data as { worker?: unknown } | undefined)?.worker;
  (r as unknown as { log: QueueLogger }).log.warn({ component: 'queue', run: r.id, entry: e.id, kind: e.kind, worker }, `queue: refused a ${e.kind === 'outcome' ? 'result' : 'stream entry'} for run ${r.id}: ${why}`);
}

function lost(message: string): RemoteOutcome {
  return { ok: false, error: new AgentError('AGENT_FAILED', message, { retryable: true }), permissionDenials: [], exitCode: null };
}
