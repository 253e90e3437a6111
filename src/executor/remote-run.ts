// Runs on remote workers (QUEUE_URL): the other "runner" beside a local spawn. A claimed run
// becomes a queue job carrying only what this service decided; its handle looks like a local
// AgentRun (pid 0), so slots, deadlines, stop and the outcome path are the same as for a local run.
// The lease records the job before it is enqueued, so a restarted service follows the same job
// again instead of starting a second run.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent, AgentOutcome, AgentRun, AgentRunRequest, StopReason } from '../agents/agent.js';
import { AgentError, shortMessage, VaultrunnerError } from '../errors.js';
import type { Task } from '../domain/task.js';
import type { EngineContext } from '../engine/context.js';
import { resolveWorkingDir } from '../engine/working-dir.js';
import { commandsForRepo } from '../config/workspace-config.js';
import type { RunJobInput } from '../queue/job.js';
import { runId } from '../queue/job-ids.js';
import type { LiveRun, StartingRun } from '../engine/run-registry.js';
import type { RunTranscript } from '../runs/transcript.js';
import { ownerState } from '../vault/owner.js';
import type { RemoteDispatcher, RemoteRunHooks } from '../queue/remote-dispatcher.js';
import type { RemoteOutcome } from '../queue/run-stream.js';
import { readJson, removeFile, writeJson } from '../vault/json-file.js';
import { WorkspaceError } from '../workspace/errors.js';
import { selectGates } from '../workspace/gates.js';
import { remoteSource, type RemoteSource } from '../workspace/remote.js';
import type { FieldEdits } from '../vault/frontmatter.js';

/** What the steps after a remote run need: where the branch comes back to. */
export interface RemotePlan extends RemoteSource {
  /** Gate names the worker runs (its own GATES define them). */
  gates: string[];
}

export interface RemoteWorkspace {
  /** The person's working_dir (checked against WORKSPACE_ROOTS); the agent runs on a worker. */
  cwd: string;
  dirKey: string;
  edits: FieldEdits;
  plan: RemotePlan;
}

/** What is kept per job in vault/.vaultrunner/queue/ until its outcome is recorded. */
export interface SavedJob {
  job: RunJobInput;
  plan: RemotePlan;
}

/** The outcome of a remote handle: the worker's, or `detached` (this service stopped following it). */
export type RemoteRunOutcome = RemoteOutcome & { detached?: boolean };

export interface RemoteHandle extends AgentRun {
  readonly outcome: Promise<RemoteRunOutcome>;
  /** Stop following the run (it goes on remotely); the outcome settles as `detached`. */
  detach(): void;
}

const DETACHED: RemoteRunOutcome = { ok: false, error: new AgentError('AGENT_STOPPED', 'the service stopped following the remote run', { retryable: true }), permissionDenials: [], exitCode: null, detached: true };

/** Where the task's branch comes from and goes back to. Throws WorkspaceError (permanent unless transient). */
export async function prepareRemote(ctx: EngineContext, task: Task): Promise<RemoteWorkspace> {
  const dir = await resolveWorkingDir(task, ctx.config, ctx.paths);
  if (!task.workingDir) throw new WorkspaceError('NOT_A_REPO', `${task.id} names no working_dir; runs on remote workers (QUEUE_URL) need one inside a git repository with an origin remote`);
  const src = await remoteSource({ taskId: task.id, workingDir: dir, ...(task.branch ? { branch: task.branch } : {}), ...(task.baseBranch ? { baseBranch: task.baseBranch } : {}) });
  // The note can only narrow the operator's gates; the worker must define the same names.
  const gates = selectGates(commandsForRepo(ctx.config.workspace, src.repoRoot).gates, task.gates).map((g) => g.name);
  const edits: FieldEdits = { base_branch: src.baseBranch, base_commit: src.baseCommit };
  if (task.branch !== src.branch) edits.branch = src.branch;
  return { cwd: dir, dirKey: `remote:${src.repoRoot}:${src.branch}`, edits, plan: { ...src, gates } };
}

/** A remote run this service follows: its job, agent, where its branch comes back to, and (when
 *  followed again after a restart) the transcript its summary is appended to. */
export interface LiveRemote {
  id: string;
  agent: string;
  plan: RemotePlan;
  reattachedLog?: string;
}

export class RemoteRunner {
  /** By task id, while the run is live here. */
  readonly live = new Map<string, LiveRemote>();

  constructor(
    private readonly ctx: Pick<EngineContext, 'paths' | 'logger'>,
    readonly dispatcher: RemoteDispatcher,
  ) {}

  private file(id: string): string {
    return join(this.ctx.paths.state, 'queue', `${encodeURIComponent(id)}.job.json`);
  }

  load(id: string): Promise<SavedJob | undefined> {
    return readJson<SavedJob>(this.file(id)).catch(() => undefined);
  }

  /**
   * Dispatch `job` after `before` (which records it in the lease) and follow it. Dispatching the
   * same job again (after a restart) is idempotent: its id comes from task, attempt and lease token.
   */
  launch(saved: SavedJob, hooks: RemoteRunHooks, before: (id: string) => Promise<void> = async () => {}): RemoteHandle {
    const id = runId(saved.job);
    let run: ReturnType<RemoteDispatcher['dispatch']> | undefined;
    let pendingStop: { reason: StopReason; graceMs: number } | undefined;
    let detached = false;
    let settleDetached!: (o: RemoteRunOutcome) => void;
    const whenDetached = new Promise<RemoteRunOutcome>((r) => (settleDetached = r));
    const followed = (async (): Promise<RemoteRunOutcome> => {
      await writeJson(this.file(id), saved, { fsync: true });
      await before(id);
      if (detached) return DETACHED;
      run = this.dispatcher.dispatch(saved.job, hooks);
      if (pendingStop) void run.stop(pendingStop.reason, pendingStop.graceMs);
      return run.outcome;
    })().catch((err: unknown): RemoteRunOutcome => {
      const invalid = err instanceof VaultrunnerError && err.code === 'QUEUE_JOB_INVALID';
      return { ok: false, error: new AgentError('AGENT_FAILED', `the run could not be dispatched: ${shortMessage(err)}`, { cause: err, retryable: !invalid }), permissionDenials: [], exitCode: null };
    });
    const outcome = Promise.race([followed, whenDetached]);
    const handle: RemoteHandle = {
      pid: 0,
      outcome,
      async stop(reason, graceMs) {
        if (reason === 'shutdown') return handle.detach();
        if (run) return run.stop(reason, graceMs);
        pendingStop = { reason, graceMs };
        await outcome;
      },
      detach() {
        detached = true;
        void run?.stop('shutdown');
        settleDetached(DETACHED);
      },
    };
    return handle;
  }

  /** The runner of a remote run (StartInput.launch): the job carries only what this service decided. */
  launcher(ctx: EngineContext, claim: StartingRun, task: Task, agent: Agent, plan: RemotePlan): (req: AgentRunRequest, transcript: RunTranscript) => AgentRun {
    return (req, transcript) => {
      const job: RunJobInput = {
        v: 1,
        taskId: task.id,
        attempt: claim.attempt,
        leaseToken: claim.lease.token,
        agent: agent.name,
        permissionMode: req.permissionMode,
        prompt: req.prompt,
        ...(req.model ? { model: req.model } : {}),
        timeoutMs: task.timeoutMs ?? ctx.config.taskTimeoutMs,
        repoUrl: plan.remoteUrl,
        baseCommit: plan.baseCommit,
        branch: plan.branch,
        ...(plan.subdir ? { subdir: plan.subdir } : {}),
        ...(req.resumeSessionId ? { resumeSessionId: req.resumeSessionId } : {}),
        ...(req.maxBudgetUsd !== undefined ? { maxBudgetUsd: req.maxBudgetUsd } : {}),
        gates: plan.gates,
      };
      const startedAt = ctx.clock.now();
      const hooks = { ...(req.onEvent ? { onEvent: req.onEvent } : {}), ...(req.onRawLine ? { onRawLine: req.onRawLine } : {}), onNote: (text: string) => transcript.note(text) };
      // Known at once: a shutdown from here on detaches this run instead of stopping it.
      this.live.set(task.id, { id: runId(job), agent: agent.name, plan });
      return this.launch({ job, plan }, hooks, async (id) => {
        // Recorded before the job is enqueued: a restart follows this job, never starts a second run.
        const ours = await ctx.leases.update(claim.lease, { run: { pid: 0, startedAt, agent: agent.name, timeoutMs: job.timeoutMs, transcript: transcript.link, remote: { id, agent: agent.name } } });
        if (!ours) throw new VaultrunnerError('QUEUE_UNAVAILABLE', `the lease of ${task.id} is no longer this service's; not dispatched`);
      });
    };
  }

  /**
   * At start, before the watchdog looks at leases: remote runs a previous service process started
   * go on on their workers; follow each again (dispatching the same job adds nothing) and record
   * its outcome through `finish` as if the service had never been away.
   */
  async reattach(ctx: EngineContext, finish: (r: LiveRun, o: AgentOutcome) => Promise<void>): Promise<string[]> {
    const found: string[] = [];
    const leases = await ctx.leases.list();
    await this.sweep(new Set(leases.flatMap((l) => (l.run?.remote ? [l.run.remote.id] : []))));
    for (const lease of leases) {
      const rem = lease.run?.remote;
      if (!rem || lease.outcome || ctx.leases.isMine(lease) || ctx.runs.has(lease.taskId) || ownerState(lease.owner) === 'alive') continue;
      const saved = await this.load(rem.id);
      const agent = ctx.agents.get(rem.agent);
      const entry = ctx.index.byId(lease.taskId);
      const task = entry?.state.kind === 'task' ? entry.state.task : undefined;
      // Anything else is the watchdog's to recover (the task is put back and runs again). A note a
      // person paused, cancelled, moved out of the task folders or deleted while the service was
      // down is followed too: the service then stops the run on its worker (service.ts), which
      // recovering the lease would not (the job ran on for its whole length).
      const gone = !entry && (await noteGone(ctx, lease.taskId));
      const followed = gone || task?.status === 'executing' || task?.status === 'paused' || task?.status === 'cancelled';
      if (!saved || !agent || !followed || (!gone && task?.attempts !== lease.attempt)) continue;
      if (!(await ctx.leases.takeOver(lease))) continue;
      // (A gone note's outcome is recorded nowhere: applyOutcome finds no note at that path.)
      const path = entry?.path ?? join(ctx.paths.needsAction, `${lease.taskId}.md`);
      const claim = ctx.runs.adopt({ taskId: lease.taskId, kind: 'run', path, dirKey: `remote:${saved.plan.repoRoot}:${saved.plan.branch}`, attempt: lease.attempt, lease });
      if (!claim) continue;
      this.live.set(lease.taskId, { id: rem.id, agent: rem.agent, plan: saved.plan, ...(lease.run?.transcript ? { reattachedLog: lease.run.transcript } : {}) });
      const agentRun = this.launch(saved, {});
      await ctx.runs.started(claim, { agent, agentRun, startedAt: lease.run!.startedAt, timeoutMs: lease.run!.timeoutMs ?? ctx.config.taskTimeoutMs, ...(lease.run?.bodyAtStart !== undefined ? { bodyAtStart: lease.run.bodyAtStart } : {}), session: { ...(lease.run?.sessionId ? { id: lease.run.sessionId } : {}) } }, async (r) => finish(r, await agentRun.outcome));
      ctx.logger.info({ component: 'executor', task: lease.taskId, run: rem.id }, `${lease.taskId}: following its remote run ${rem.id} again (started before this service restarted)`);
      found.push(lease.taskId);
    }
    return found;
  }

  /** At start: job and cursor files no lease names any more (a run recovered or replayed by the
   *  watchdog) go; their Redis keys expire on their own. */
  async sweep(named: ReadonlySet<string>): Promise<void> {
    const dir = join(this.ctx.paths.state, 'queue');
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      const m = /^(.+)\.(job|cursor)\.json$/.exec(n);
      if (m && !named.has(decodeURIComponent(m[1]!))) await removeFile(join(dir, n)).catch(() => undefined);
    }
  }

  /** After the outcome is recorded: the job file, its Redis keys and its stream cursor go. */
  async forget(id: string, agent: string): Promise<void> {
    await removeFile(this.file(id));
    await this.dispatcher.forget(id, agent).catch((err: unknown) => this.ctx.logger.debug({ component: 'queue', run: id, err: shortMessage(err) }, 'could not drop a finished run from Redis (it expires)'));
  }
}

/** No note of this id in a task folder: known gone (ENOENT), not merely unreadable. */
async function noteGone(ctx: EngineContext, taskId: string): Promise<boolean> {
  const missing = async (dir: string) => lstat(join(dir, `${taskId}.md`)).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  return (await missing(ctx.paths.needsAction)) && (await missing(ctx.paths.pendingApproval));
}

/** True for an outcome that must not be recorded: the run goes on elsewhere, or its lease moved on. */
export function notOurs(o: AgentOutcome): boolean {
  const r = o as RemoteRunOutcome;
  return r.detached === true || r.remote?.refused !== undefined;
}
