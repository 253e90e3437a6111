// The orchestrator plans `new` tasks, routes tasks that need a person's approval to
// Pending_Approval/ and back, reports invalid notes, and files finished notes into Done/.
import { join } from 'node:path';
import { obsidianDateTime } from '../clock.js';
import { shortMessage, VaultrunnerError } from '../errors.js';
import type { EngineContext } from '../lifecycle/context.js';
import type { IndexEntry } from '../lifecycle/task-index.js';
import { describeProblems, type Task } from '../lifecycle/task.js';
import { editIfStatus, transition } from '../lifecycle/transition.js';
import { wikilink } from '../vault/layout.js';
import { resolveWorkingDir } from '../executor/workspace.js';
import type { Planner } from './planner.js';

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
  private closed = false;

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

  /** Look at a note again once it has had time to settle. */
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
    await Promise.all(this.ctx.index.entries().map((e) => this.handle(e)));
  }

  /** Handle one note; safe to call from events and timers at once (one step per task at a time). */
  async handle(entry: IndexEntry): Promise<void> {
    if (this.busy.has(entry.path)) return;
    this.busy.add(entry.path);
    try {
      await this.step(entry);
    } catch (err) {
      this.ctx.logger.error({ component: 'orchestrator', task: entry.id, err }, `orchestrator step failed: ${shortMessage(err)}`);
    } finally {
      this.busy.delete(entry.path);
    }
  }

  private async step(entry: IndexEntry): Promise<void> {
    const { state } = entry;
    if (state.kind === 'unreadable') return;
    if (state.kind === 'invalid') {
      // A status we don't know (a typo like `planed`) is reported like any other problem.
      const raw = state.data.status;
      const unknownStatus = state.problems.some((p) => p.key === 'status');
      if (!unknownStatus && state.status !== 'new' && state.status !== 'planned') return;
      const error = shortMessage(`${INVALID_PREFIX}${describeProblems(state.problems)}`, 300);
      if (state.data.error !== error && !state.problems.some((p) => p.key === 'error')) {
        const still = this.ctx.clock.now() - entry.stamp.mtimeMs;
        if (still < this.settleMs) return this.recheckLater(entry.path, this.settleMs - still + 20);
        // Written only while the status is still the one we judged (compared raw: it may be unknown).
        const written = await this.ctx.store.update(entry.path, (data) => (JSON.stringify(data.status) === JSON.stringify(raw) ? { error } : null));
        if (written) this.ctx.logger.warn({ component: 'orchestrator', task: entry.id, problems: state.problems }, `${entry.id}: invalid task, not planned until fixed`);
        await this.ctx.index.refresh(entry.path);
      }
      return;
    }
    const task = state.task;
    if (task.error?.startsWith(INVALID_PREFIX) && task.status !== 'new' && task.status !== 'planned') {
      // Fixed into a status that no transition of ours passes through (e.g. `paused`): the
      // problem it names is gone. (`new`/`planned` clear it when planned or run.)
      await editIfStatus(this.ctx.store, entry.path, [task.status], { error: undefined });
      await this.ctx.index.refresh(entry.path);
      return;
    }
    switch (task.status) {
      case 'new':
        return this.plan(entry, task, state.body);
      case 'awaiting_approval':
        return this.approval(entry, task);
      case 'planned':
        if (entry.folder === 'Pending_Approval') return this.file(entry, this.ctx.paths.needsAction, 'approved task back to Needs_Action');
        if (!this.whitelisted(task) && !task.approved) {
          await transition(this.ctx.store, this.ctx.logger, { path: entry.path, taskId: task.id, from: 'planned', to: 'awaiting_approval', actor: 'orchestrator', log: { reason: `type ${task.type} is not in EXECUTOR_TYPES` } });
          return this.file(entry, this.ctx.paths.pendingApproval, 'needs approval');
        }
        return;
      case 'done':
      case 'cancelled':
        // A running task is filed by the executor when its run has stopped.
        if (await this.ctx.leases.get(task.id)) return;
        return this.file(entry, this.ctx.paths.done, `${task.status} task filed`);
      default:
        return;
    }
  }

  private whitelisted(task: Task): boolean {
    return this.ctx.config.executorTypes.includes(task.type);
  }

  private async plan(entry: IndexEntry, task: Task, body: string): Promise<void> {
    const { ctx } = this;
    const ts = await ctx.taskState.get(task.id);
    if (ts.planNotBefore && ts.planNotBefore > ctx.clock.now()) return;
    if (ts.planGaveUp === entry.hash) return;
    const planPath = join(ctx.paths.plans, `PLAN_${task.id}.md`);
    const planLink = wikilink(`PLAN_${task.id}`);
    try {
      await this.writePlan(planPath, task, body);
    } catch (err) {
      const failures = (ts.planFailures ?? 0) + 1;
      const retry = (err instanceof VaultrunnerError ? err.retryable : true) && failures < MAX_PLAN_FAILURES;
      await ctx.taskState.patch(task.id, { planFailures: failures, planNotBefore: retry ? ctx.clock.now() + ctx.config.retryBackoffMs * 2 ** (failures - 1) : undefined });
      ctx.logger.warn({ component: 'orchestrator', task: task.id, failures, err }, `${task.id}: planning failed${retry ? ', will retry' : ''}`);
      if (!retry) {
        await editIfStatus(ctx.store, entry.path, ['new'], { error: shortMessage(err, 300) });
        const now = await ctx.index.refresh(entry.path);
        await ctx.taskState.patch(task.id, { planFailures: undefined, planNotBefore: undefined, planGaveUp: now?.hash });
      }
      return;
    }
    const needsApproval = !this.whitelisted(task) || (task.requiresApproval && !task.approved);
    const to = needsApproval ? 'awaiting_approval' : 'planned';
    const done = await transition(ctx.store, ctx.logger, {
      path: entry.path,
      taskId: task.id,
      from: 'new',
      to,
      actor: 'orchestrator',
      edits: { plan: planLink, error: undefined },
      log: { planner: this.planner.name },
    });
    await ctx.taskState.patch(task.id, { planFailures: undefined, planNotBefore: undefined, planGaveUp: undefined });
    if (done && needsApproval && entry.folder !== 'Pending_Approval') {
      await this.file(entry, ctx.paths.pendingApproval, !this.whitelisted(task) ? `type ${task.type} is not in EXECUTOR_TYPES` : 'requires_approval');
    } else if (done) {
      await ctx.index.refresh(entry.path);
    }
  }

  /** Keep a plan note a person may have edited; write one only when there is none. */
  private async writePlan(planPath: string, task: Task, body: string): Promise<void> {
    const existing = await this.ctx.store.read(planPath).catch(() => undefined);
    if (existing) return;
    const cwd = await resolveWorkingDir(task, this.ctx.config, this.ctx.paths);
    const planBody = await this.planner.plan({ task, body, cwd });
    const eol = '\n';
    const text = ['---', `task: "${wikilink(task.id)}"`, `planner: ${this.planner.name}`, `created: ${obsidianDateTime(this.ctx.clock.now())}`, '---', '', planBody].join(eol);
    try {
      await this.ctx.store.create(planPath, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // written meanwhile: keep it
    }
  }

  private async approval(entry: IndexEntry, task: Task): Promise<void> {
    if (task.approved) {
      const done = await transition(this.ctx.store, this.ctx.logger, { path: entry.path, taskId: task.id, from: 'awaiting_approval', to: 'planned', actor: 'orchestrator', log: { reason: 'approved' } });
      if (done && entry.folder === 'Pending_Approval') await this.file(entry, this.ctx.paths.needsAction, 'approved');
      else if (done) await this.ctx.index.refresh(entry.path);
      return;
    }
    if (entry.folder === 'Needs_Action') await this.file(entry, this.ctx.paths.pendingApproval, 'awaiting approval');
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
