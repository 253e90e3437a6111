// The orchestrator plans `new` tasks, routes tasks that need a person's approval to
// Pending_Approval/ and back, reports invalid notes, and files finished notes into Done/. Whether
// a note may be planned now is the one readiness function's answer (drafts and placeholder bodies
// wait); an agent planner runs on a slot of the shared run machinery.
import { join } from 'node:path';
import { obsidianDateTime } from '../clock.js';
import { planBackoffMs } from '../domain/backoff.js';
import { folderFor } from '../domain/status.js';
import { describeProblems, type Task } from '../domain/task.js';
import { healthOf } from '../engine/agent-health.js';
import type { EngineContext } from '../engine/context.js';
import { editIfStatus, transition } from '../engine/transition.js';
import { readinessOf, runningSet } from '../engine/wait-facts.js';
import { resolveWorkingDir, workingDirForPlan } from '../engine/working-dir.js';
import { shortMessage, VaultrunnerError } from '../errors.js';
import { wikilink } from '../vault/layout.js';
import type { FieldEdits } from '../vault/frontmatter.js';
import { approvalFingerprint, approvalGiven, approvalHolds, needsApproval } from '../engine/approval.js';
import type { IndexEntry } from '../vault/task-index.js';
import type { TaskState } from '../vault/task-state.js';
import { closeCancelledWorkspace, finishDone } from '../engine/finish-task.js';
import type { Planner } from './planner.js';
import { createTemplatePlanner } from './template-planner.js';

const MAX_PLAN_FAILURES = 3;
/** Prefix of the `error` the orchestrator writes into an invalid note (cleared once it is valid). */
const INVALID_PREFIX = 'invalid task: ';

export interface OrchestratorOptions {
  /** An invalid note gets its `error:` line only once it has not changed for this long: Obsidian
   *  saves while a person types, and `status: pa` on the way to `paused` is no reason to write. */
  invalidSettleMs?: number;
}

export class Orchestrator {
  private readonly busy = new Set<string>();
  private readonly rechecks = new Map<string, NodeJS.Timeout>();
  private readonly settleMs: number;
  private readonly fallback = createTemplatePlanner();
  private closed = false;
  /** Steps under way, so a stopping service can let them end (drain). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly planner: Planner,
    opts: OrchestratorOptions = {},
  ) {
    this.settleMs = opts.invalidSettleMs ?? 5000;
  }

  close(): void {
    this.closed = true;
    for (const t of this.rechecks.values()) clearTimeout(t);
    this.rechecks.clear();
  }

  /**
   * After close(): wait up to `ms` for the steps under way (a plan being written, a note being
   * filed, a branch being merged), so none writes after the service has let the vault go. True
   * when all ended. (Each is crash-safe too: one cut short is completed by the next start.)
   */
  async drain(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((res) => (timer = setTimeout(() => res(false), ms)));
    try {
      return await Promise.race([Promise.all([...this.inFlight]).then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Look at a note again after `ms` (a settle time, or a planning backoff ending). */
  private recheckLater(path: string, ms: number): void {
    if (this.closed || this.rechecks.has(path)) return;
    const t = setTimeout(() => {
      this.rechecks.delete(path);
      const entry = this.ctx.index.getPath(path);
      if (entry && !this.closed) void this.handle(entry);
    }, ms);
    t.unref();
    this.rechecks.set(path, t);
  }

  async tick(): Promise<void> {
    const steps: Promise<void>[] = [];
    const told = this.ctx.events.has('orchestrator:step');
    for (const e of this.ctx.index.entries()) {
      if (mayNeedStep(e)) steps.push(this.handle(e));
      // Looked at, nothing to do (paused, running, failed, …): no async step for it, and no event
      // built unless someone listens. An idle service with thousands of held notes spent most of
      // its minute's pass on those.
      else if (told) this.ctx.events.emit('orchestrator:step', { taskId: e.id, status: e.state.kind === 'task' ? e.state.task.status : undefined });
    }
    await Promise.all(steps);
  }

  /** Handle one note; safe to call from events and timers at once (one step per task at a time). */
  async handle(entry: IndexEntry): Promise<void> {
    if (this.busy.has(entry.path) || this.closed) return;
    this.busy.add(entry.path);
    const step = this.guardedStep(entry);
    this.inFlight.add(step);
    try {
      await step;
    } finally {
      this.inFlight.delete(step);
    }
  }

  /** One step; never rejects (a failure is logged), so drain() can wait on it. */
  private async guardedStep(entry: IndexEntry): Promise<void> {
    try {
      await this.step(entry);
    } catch (err) {
      this.ctx.logger.error({ component: 'orchestrator', task: entry.id, err }, `orchestrator step failed: ${shortMessage(err)}`);
    } finally {
      this.busy.delete(entry.path);
      this.ctx.events.emit('orchestrator:step', { taskId: entry.id, status: entry.state.kind === 'task' ? entry.state.task.status : undefined });
    }
  }

  /** Keep in step with mayNeedStep() below: a note it rules out must be one this returns on at once. */
  private async step(entry: IndexEntry): Promise<void> {
    const { state } = entry;
    if (state.kind === 'unreadable') return;
    if (state.kind === 'invalid') return this.invalid(entry, state);
    const task = state.task;
    if (task.error?.startsWith(INVALID_PREFIX) && task.status !== 'new' && task.status !== 'planned') {
      // Fixed into a status that no transition of ours passes through (e.g. `paused`): the
      // problem it names is gone. (`new`/`planned` clear it when planned or run.)
      await editIfStatus(this.ctx, entry.path, task.id, [task.status], { error: undefined });
      await this.ctx.index.refresh(entry.path);
      return;
    }
    switch (task.status) {
      case 'new':
        return this.plan(entry, task, state.body);
      case 'awaiting_approval':
        return this.approval(entry, task, state.body);
      case 'planned': {
        if (!needsApproval(task, this.ctx.config) || approvalHolds(task, state.body, await this.approvalState(task))) {
          if (entry.folder !== folderFor('planned')) return this.file(entry, this.ctx.paths.needsAction, 'approved task back to Needs_Action');
          return;
        }
        // Not approved by a person for this content (never asked, self-approved, or edited since).
        const why = !this.whitelisted(task) ? `type ${task.type} is not in EXECUTOR_TYPES` : 'requires_approval';
        const done = await this.askApproval(entry, task, state.body, 'planned', { reason: why });
        if (done && entry.folder !== folderFor('awaiting_approval')) return this.file(entry, this.ctx.paths.pendingApproval, 'needs approval');
        await this.ctx.index.refresh(entry.path);
        return;
      }
      case 'done':
      case 'cancelled':
        // A running task is filed by the executor when its run has stopped.
        if (this.ctx.runs.has(task.id) || (await this.ctx.leases.get(task.id))) return;
        // Accepted (or done by hand): its branch is merged per MERGE before it is filed.
        if (task.status === 'done') return void (await finishDone(this.ctx, entry.path, 'orchestrator'));
        await closeCancelledWorkspace(this.ctx, entry.path, 'orchestrator');
        return this.file(entry, this.ctx.paths.done, `${task.status} task filed`);
      default:
        return;
    }
  }

  private async invalid(entry: IndexEntry, state: Extract<IndexEntry['state'], { kind: 'invalid' }>): Promise<void> {
    // A status we don't know (a typo like `planed`) is reported like any other problem.
    const raw = state.data.status;
    const unknownStatus = state.problems.some((p) => p.key === 'status');
    if (!unknownStatus && state.status !== 'new' && state.status !== 'planned') return;
    const error = shortMessage(`${INVALID_PREFIX}${describeProblems(state.problems)}`, 300);
    if (state.data.error === error || state.problems.some((p) => p.key === 'error')) return;
    const still = this.ctx.clock.now() - entry.stamp.mtimeMs;
    if (still < this.settleMs) return this.recheckLater(entry.path, this.settleMs - still + 20);
    // Written only while the status is still the one we judged (compared raw: it may be unknown).
    const written = await this.ctx.store.update(entry.path, (data) => (JSON.stringify(data.status) === JSON.stringify(raw) ? { error } : null));
    if (written) {
      this.ctx.ownWrites.record(entry.id, written.note.hash);
      this.ctx.logger.warn({ component: 'orchestrator', task: entry.id, problems: state.problems }, `${entry.id}: invalid task, not planned until fixed`);
    }
    await this.ctx.index.refresh(entry.path);
  }

  private whitelisted(task: Task): boolean {
    return this.ctx.config.executorTypes.includes(task.type);
  }

  private async plan(entry: IndexEntry, task: Task, body: string): Promise<void> {
    const { ctx } = this;
    const verdict = await readinessOf(entry, {
      config: ctx.config,
      index: ctx.index,
      taskState: ctx.taskState,
      now: ctx.clock.now(),
      running: runningSet(ctx.runs.slots(), ctx.config.maxConcurrent),
      agentHealth: (name) => healthOf(ctx, name),
    });
    if (verdict.kind === 'waiting' && verdict.reason.kind === 'backoff') return this.recheckLater(entry.path, Math.max(0, verdict.reason.until - ctx.clock.now()) + 5);
    if (verdict.kind !== 'ready') return; // a draft, no slot for an agent planner, or planning gave up
    const planPath = join(ctx.paths.plans, `PLAN_${task.id}.md`);
    const planLink = wikilink(`PLAN_${task.id}`);
    let planWrite: Promise<void> | undefined;
    try {
      const plan = await this.planText(entry, planPath, task, body);
      if (plan === 'no-slot') return; // planned when a run ends
      if (plan !== 'exists') planWrite = this.createPlan(planPath, plan);
    } catch (err) {
      return this.planFailed(entry, task, err);
    }
    planWrite?.catch(() => undefined); // (awaited below; its failure is planning's)
    const waitApproval = needsApproval(task, ctx.config) && !approvalHolds(task, body, await this.approvalState(task));
    // `created` is set once, at the first transition, from when the note first appeared.
    const edits = { plan: planLink, error: undefined, ...(task.created ? {} : { created: obsidianDateTime(entry.firstSeen) }) };
    let done: boolean;
    try {
      // The plan note is written while the note's own temp file is; the note is renamed into
      // place only once the plan is on disk, so `planned` never links to a plan a crash lost.
      if (waitApproval) await planWrite;
      done = waitApproval
        ? await this.askApproval(entry, task, body, 'new', { planner: this.planner.name }, edits)
        : (await transition(ctx, { path: entry.path, taskId: task.id, from: 'new', to: 'planned', actor: 'orchestrator', edits, log: { planner: this.planner.name }, after: planWrite })) !== null;
      await planWrite;
    } catch (err) {
      const planErr = await planWrite?.then(() => undefined, (e: unknown) => e);
      if (planErr !== undefined) return this.planFailed(entry, task, planErr);
      throw err;
    }
    await ctx.taskState.patch(task.id, { planFailures: undefined, planNotBefore: undefined, planGaveUp: undefined });
    if (done && waitApproval && entry.folder !== folderFor('awaiting_approval')) {
      await this.file(entry, ctx.paths.pendingApproval, !this.whitelisted(task) ? `type ${task.type} is not in EXECUTOR_TYPES` : 'requires_approval');
    } else if (done) {
      await ctx.index.refresh(entry.path);
    }
  }

  /** Planning failed: retried with backoff while it may succeed, else the reason goes in the note. */
  private async planFailed(entry: IndexEntry, task: Task, err: unknown): Promise<void> {
    const { ctx } = this;
    if (err instanceof VaultrunnerError && err.code === 'WORKSPACE_DENIED') return this.refuse(entry, task, err);
    if (this.closed) return; // an agent planner stopped by shutdown is planned again next start
    const ts = await ctx.taskState.get(task.id);
    const failures = (ts.planFailures ?? 0) + 1;
    const retry = (err instanceof VaultrunnerError ? err.retryable : true) && failures < MAX_PLAN_FAILURES;
    const delay = planBackoffMs(ctx.config.retryBackoffMs, failures);
    await ctx.taskState.patch(task.id, { planFailures: failures, planNotBefore: retry ? ctx.clock.now() + delay : undefined });
    ctx.logger.warn({ component: 'orchestrator', task: task.id, failures, err }, `${task.id}: planning failed${retry ? ', will retry' : ''}`);
    if (retry) return this.recheckLater(entry.path, delay + 5);
    await editIfStatus(ctx, entry.path, task.id, ['new'], { error: shortMessage(err, 300) });
    const now = await ctx.index.refresh(entry.path);
    await ctx.taskState.patch(task.id, { planFailures: undefined, planNotBefore: undefined, planGaveUp: now?.hash });
  }

  /** A working_dir outside WORKSPACE_ROOTS can never be planned or run: `failed`, with the code. */
  private async refuse(entry: IndexEntry, task: Task, err: VaultrunnerError): Promise<void> {
    await transition(this.ctx, {
      path: entry.path,
      taskId: task.id,
      from: 'new',
      to: 'failed',
      actor: 'orchestrator',
      edits: { error: `${err.code}: ${shortMessage(err, 280)}`, finished_at: obsidianDateTime(this.ctx.clock.now()) },
      log: { code: err.code },
    });
    await this.ctx.index.refresh(entry.path);
  }

  /** The plan note's text; 'exists' keeps a plan note a person may have edited (none is written). */
  private async planText(entry: IndexEntry, planPath: string, task: Task, body: string): Promise<string | 'exists' | 'no-slot'> {
    const { ctx } = this;
    // The working dir is checked even when a plan exists: a task that can never run fails now.
    // An agent planner runs in it, so it is made and checked in full; the template only names it.
    const cwd = this.planner.usesAgent ? await resolveWorkingDir(task, ctx.config, ctx.paths) : await workingDirForPlan(task, ctx.config, ctx.paths);
    const existing = await ctx.store.read(planPath).catch(() => undefined);
    if (existing) return 'exists';
    // PLANNER=agent never shows an unapproved task to an agent that cannot be confined to
    // read-only planning: such a task gets the template plan (the agent runs only once approved).
    const untrusted = needsApproval(task, ctx.config) && !approvalHolds(task, body, await this.approvalState(task));
    const planner = this.planner.usesAgent && untrusted && !this.planner.readOnly?.({ task, body, cwd }) ? this.fallback : this.planner;
    const planBody = planner.usesAgent ? await this.planOnSlot(entry, task, body, cwd, untrusted) : await planner.plan({ task, body, cwd });
    if (planBody === undefined) return 'no-slot';
    return ['---', `task: "${wikilink(task.id)}"`, `planner: ${planner.name}`, `created: ${obsidianDateTime(ctx.clock.now())}`, '---', '', planBody].join('\n');
  }

  private async createPlan(planPath: string, text: string): Promise<void> {
    try {
      await this.ctx.store.create(planPath, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // written meanwhile: keep it
    }
  }

  /** An agent planner on a claimed slot: lease, run marker, deadline, shutdown, crash recovery. */
  private async planOnSlot(entry: IndexEntry, task: Task, body: string, cwd: string, untrusted: boolean): Promise<string | undefined> {
    const { ctx } = this;
    const claim = await ctx.runs.claim({ taskId: task.id, kind: 'plan', path: entry.path, attempt: 0 });
    if (!claim) return undefined;
    let ok = false;
    try {
      const text = await this.planner.plan({
        task,
        body,
        cwd,
        untrusted,
        env: ctx.runs.envFor(claim),
        onStart: async (agentRun, agentName) => {
          const agent = ctx.agents.get(agentName);
          if (!agent) return;
          await ctx.runs.started(claim, { agent, agentRun, startedAt: ctx.clock.now(), timeoutMs: ctx.config.taskTimeoutMs, session: {} }, async () => {});
        },
      });
      ok = true;
      return text;
    } finally {
      await ctx.runs.release(task.id);
      ctx.events.emit('run:end', { taskId: task.id, kind: 'plan', attempt: 0, ok });
    }
  }

  /** The task's state for an approval check. An `approved: true` with no approval on record
   *  looks at the disk again: a person's `vaultrunner approve` ahead of the question writes it there. */
  private async approvalState(task: Task): Promise<TaskState> {
    const st = await this.ctx.taskState.get(task.id);
    return task.approved && st.approvedFor === undefined ? this.ctx.taskState.reload(task.id) : st;
  }

  /**
   * Show the task awaiting approval: its content is remembered as the one asked about, and an
   * `approved: true` it carries already is reset, so only a later edit (a person, the CLI, the web
   * page) can approve it.
   */
  private async askApproval(entry: IndexEntry, task: Task, body: string, from: 'new' | 'planned', log: Record<string, unknown>, edits: FieldEdits = {}): Promise<boolean> {
    await this.ctx.taskState.patch(task.id, { approvalAsked: approvalFingerprint(task, body), approvedFor: undefined });
    if (task.approved) this.ctx.logger.warn({ component: 'orchestrator', task: task.id }, `${task.id}: approved: true was not given by a person after the task awaited approval; reset, approve it again`);
    return (await transition(this.ctx, { path: entry.path, taskId: task.id, from, to: 'awaiting_approval', actor: 'orchestrator', edits: { ...edits, ...(task.approved ? { approved: false } : {}) }, log })) !== null;
  }

  private async approval(entry: IndexEntry, task: Task, body: string): Promise<void> {
    const { ctx } = this;
    const st = await ctx.taskState.get(task.id);
    const fp = approvalFingerprint(task, body);
    if (task.approved && !approvalGiven(task, body, st)) {
      // Written by the note itself (at creation, or along with a change of what was approved: approval.ts).
      await ctx.taskState.patch(task.id, { approvalAsked: fp, approvedFor: undefined });
      ctx.logger.warn({ component: 'orchestrator', task: task.id }, `${task.id}: approved: true was not given after the task was shown awaiting approval (or the task changed); reset, approve it again`);
      await editIfStatus(ctx, entry.path, task.id, ['awaiting_approval'], { approved: false });
      await ctx.index.refresh(entry.path);
      return;
    }
    // Content edited while waiting (not approved): the later approval is for the new content.
    if (!task.approved && st.approvalAsked !== fp) await ctx.taskState.patch(task.id, { approvalAsked: fp });
    if (task.approved) {
      await ctx.taskState.patch(task.id, { approvedFor: fp });
      const done = await transition(this.ctx, { path: entry.path, taskId: task.id, from: 'awaiting_approval', to: 'planned', actor: 'orchestrator', log: { reason: 'approved' } });
      if (done && entry.folder === 'Pending_Approval') await this.file(entry, this.ctx.paths.needsAction, 'approved');
      else if (done) await this.ctx.index.refresh(entry.path);
      return;
    }
    if (entry.folder !== folderFor('awaiting_approval')) await this.file(entry, this.ctx.paths.pendingApproval, 'awaiting approval');
  }

  /** Move a note to another folder (never overwriting) and update the index for both paths. */
  private async file(entry: IndexEntry, toDir: string, why: string): Promise<void> {
    const target = await this.ctx.store.move(entry.path, toDir);
    const renamed = !target.endsWith(`/${entry.id}.md`);
    this.ctx.logger.info({ component: 'orchestrator', task: entry.id, dest: target, renamed }, `${entry.id}: moved (${why})${renamed ? `; name taken, saved as ${target}` : ''}`);
    await this.ctx.index.refresh(entry.path);
    await this.ctx.index.refresh(target);
  }
}

/** Whether step() could do anything for this entry now (it returns at once for every other). */
export function mayNeedStep(entry: IndexEntry): boolean {
  const { state } = entry;
  if (state.kind === 'unreadable') return false;
  if (state.kind === 'invalid') return true;
  const { status, error } = state.task;
  if (error?.startsWith(INVALID_PREFIX) && status !== 'new' && status !== 'planned') return true;
  return status === 'new' || status === 'awaiting_approval' || status === 'planned' || status === 'done' || status === 'cancelled';
}
