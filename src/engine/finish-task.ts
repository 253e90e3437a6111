// A task that reached `done` with a git workspace: its branch is merged per MERGE, then its
// worktree goes and the note is filed in Done/. Shared by the executor (a run that needs no review),
// the orchestrator (a person accepting a review by setting `status: done`) and `vaultrunner merge`.
//
// Never silently half-way: a refused merge (dirty checkout, conflict, not a fast-forward, the
// task's own worktree holding uncommitted changes) sends the task back to `in_review` with the
// reason in `error:` and the branch intact; a transient failure leaves it `done` in place to be
// tried again. Every step can be repeated after a crash: the merge sees it already happened
// (mergeTask), a removed worktree is not there to remove, and filing in Done/ comes last.
import { existsSync } from 'node:fs';
import { realpath } from '../os/quick-fs.js';
import type { Actor } from '../domain/status.js';
import { validateTask, type Task } from '../domain/task.js';
import { shortMessage } from '../errors.js';
import { newCycleState } from './cycle.js';
import { faultPoint } from '../fault.js';
import { taskIdOf } from '../vault/layout.js';
import { WorkspaceError } from '../workspace/errors.js';
import { dirtyPaths, git, listWorktrees, resolveCommit } from '../workspace/git.js';
import { pinnedGitEnv } from '../workspace/git-dir.js';
import { mergeTask, type MergeMode, type MergeResult } from '../workspace/merge.js';
import { defaultWorktreesDir, removeWorktree } from '../workspace/worktree.js';
import type { EngineContext } from './context.js';
import { transition } from './transition.js';
import { isInside, resolveWorkingDir } from './working-dir.js';

/** What a finished note says about its git workspace (only a run that committed has one). */
export interface TaskGit {
  task: Task;
  repoRoot: string;
  branch: string;
  baseBranch: string;
  /** The task's worktree under WORKTREES_DIR, if it still exists (never the person's checkout). */
  worktree?: string;
}

export type Sink = Pick<EngineContext, 'config' | 'paths' | 'store' | 'logger'> & Partial<Pick<EngineContext, 'events' | 'ownWrites' | 'index' | 'taskState'>>;

/**
 * The workspace a note names: working_dir (checked against WORKSPACE_ROOTS), branch, base_branch
 * and a head_commit recorded by a run. Undefined for a task that never committed in git.
 */
export async function taskGit(sink: Sink, taskId: string, data: Record<string, unknown>, opts: { anyRun?: boolean } = {}): Promise<TaskGit | undefined> {
  const v = validateTask(taskId, data);
  if (!v.ok) return undefined;
  const task = v.task;
  // anyRun (discard, gc, doctor): a run that never committed still made a branch and a worktree.
  if (!task.workingDir || !task.branch || !task.baseBranch || (!opts.anyRun && typeof data.head_commit !== 'string')) return undefined;
  const dir = await resolveWorkingDir(task, sink.config, sink.paths);
  const top = await git(['rev-parse', '--show-toplevel'], { cwd: dir, okExitCodes: [128] });
  if (top.exitCode !== 0) return undefined;
  const repoRoot = await realpath(top.stdout.trim());
  const wtDir = await realpath(sink.config.workspace.worktreesDir ?? defaultWorktreesDir()).catch(() => undefined);
  const ref = `refs/heads/${task.branch}`;
  const wt = wtDir ? (await listWorktrees(repoRoot)).find((w) => w.branch === ref && isInside(w.path, wtDir) && w.path !== wtDir) : undefined;
  return { task, repoRoot, branch: task.branch, baseBranch: task.baseBranch, ...(wt ? { worktree: wt.path } : {}) };
}

export type MergeStep = { ok: true; result: MergeResult; worktreeRemoved: boolean } | { ok: false; error: WorkspaceError };

/** Merge per `mode`, then remove the task's worktree. A WorkspaceError is returned, not thrown. */
export async function mergeAndClean(sink: Sink, g: TaskGit, mode: MergeMode): Promise<MergeStep> {
  try {
    if (!(await resolveCommit(g.repoRoot, `refs/heads/${g.branch}`))) throw new WorkspaceError('BRANCH_INVALID', `the task branch ${g.branch} no longer exists in ${g.repoRoot}`);
    // Changes left in the task's worktree would not be in the merge, and removing it would lose them.
    const dirty = g.worktree && existsSync(g.worktree) ? await dirtyPaths(g.worktree, 10, await pinnedGitEnv(g.repoRoot, g.worktree)) : []; // a folder deleted by hand holds nothing
    if (dirty.length && mode !== 'none') {
      throw new WorkspaceError('TREE_DIRTY', `the task's worktree ${g.worktree} has uncommitted changes (${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ' and more' : ''}); commit them on ${g.branch} or remove them, then accept again`, { details: { files: dirty } });
    }
    const result = await mergeTask({ repoRoot: g.repoRoot, branch: g.branch, baseBranch: g.baseBranch, mode, taskId: g.task.id, title: g.task.title ?? g.task.id, author: sink.config.workspace.author });
    faultPoint('mid-merge');
    let worktreeRemoved = false;
    if (g.worktree && !dirty.length) worktreeRemoved = await removeWorktree(g.repoRoot, g.worktree);
    else if (g.worktree) sink.logger.warn({ component: 'executor', task: g.task.id, worktree: g.worktree, dirty }, `${g.task.id}: its worktree ${g.worktree} has uncommitted changes; kept (vaultrunner discard removes it)`);
    return { ok: true, result, worktreeRemoved };
  } catch (err) {
    if (err instanceof WorkspaceError) return { ok: false, error: err };
    throw err;
  }
}

export type FinishOutcome = 'filed' | 'back-to-review' | 'later' | 'skipped';

/** A `done` note in a task folder: merge (if it has a workspace), clean up, file in Done/.
 *  `sessionAgent`: the agent of the run that just wrote `done` (the executor's call). */
export async function finishDone(ctx: Sink, path: string, actor: Actor, sessionAgent?: string): Promise<FinishOutcome> {
  const taskId = taskIdOf(path);
  const read = await ctx.store.read(path).catch(() => undefined);
  if (!read?.ok || read.data.status !== 'done') return 'skipped';
  const mode = ctx.config.workspace.merge;
  let g: TaskGit | undefined;
  try {
    g = await taskGit(ctx, taskId, read.data);
  } catch (err) {
    // working_dir no longer allowed or gone: nothing to merge into; the branch stays where it is.
    ctx.logger.warn({ component: actor, task: taskId, err }, `${taskId}: done, but its workspace cannot be reached (${shortMessage(err)}); filed without merging`);
  }
  if (g && !(await resolveCommit(g.repoRoot, `refs/heads/${g.branch}`))) {
    // Merged and deleted by the person, or discarded: nothing left to merge or clean.
    ctx.logger.warn({ component: actor, task: taskId, branch: g.branch }, `${taskId}: done, but its branch ${g.branch} no longer exists; filed without merging`);
    g = undefined;
  }
  if (g) {
    const step = await mergeAndClean(ctx, g, mode);
    if (!step.ok) {
      const error = `${step.error.code}: ${shortMessage(step.error, 280)}`;
      if (step.error.transient) {
        ctx.logger.warn({ component: actor, task: taskId, code: step.error.code }, `${taskId}: merge not done yet, will try again: ${error}`);
        return 'later';
      }
      const back = await transition(ctx, { path, taskId, from: 'done', to: 'in_review', actor, edits: { error }, log: { code: step.error.code } });
      // Back in review, as after a run: the round a person sends from here is a new cycle.
      const attempts = typeof read.data.attempts === 'number' ? read.data.attempts : 0;
      // (A run that just ended here says whose session the note's session_id is, as for a run
      // that ends in review: a round sent from here follows up only in that agent's session.)
      if (back) await ctx.taskState?.patch(taskId, { ...newCycleState(attempts), ...(sessionAgent ? { sessionAgent } : {}) });
      await ctx.index?.refresh(path);
      return 'back-to-review';
    }
    const r = step.result;
    const commit = r.status === 'merged' ? r.commit : r.status === 'already-merged' ? r.baseCommit : undefined;
    ctx.logger.info({ component: actor, task: taskId, mode, status: r.status, commit, worktreeRemoved: step.worktreeRemoved }, `${taskId}: ${describeMerge(r, g)}${step.worktreeRemoved ? '; worktree removed' : ''}`);
    const edits = { error: undefined, ...(commit ? { merge_commit: commit } : {}) };
    const w = await ctx.store.update(path, (data) => (data.status === 'done' ? edits : null));
    if (w) ctx.ownWrites?.record(taskId, w.note.hash);
    else return 'skipped'; // a person changed the status meanwhile: theirs to decide
  }
  const target = await ctx.store.move(path, ctx.paths.done);
  ctx.logger.info({ component: actor, task: taskId, dest: target }, `${taskId}: filed in Done`);
  await ctx.index?.refresh(path);
  return 'filed';
}

export function describeMerge(r: MergeResult, g: Pick<TaskGit, 'branch' | 'baseBranch'>): string {
  switch (r.status) {
    case 'skipped':
      return `MERGE=none: ${g.branch} is kept for you to merge ('vaultrunner merge <task>')`;
    case 'already-merged':
      return `${g.branch} is already in ${g.baseBranch}`;
    case 'merged':
      return `${g.branch} merged into ${g.baseBranch} (${r.mode}) at ${r.commit.slice(0, 10)}${r.checkout ? `; ${r.checkout} updated` : ''}`;
  }
}

/**
 * A `cancelled` note that is not running (e.g. cancelled while it waited in review): its clean
 * worktree goes, its branch stays. A worktree with uncommitted changes is kept (doctor lists it).
 */
export async function closeCancelledWorkspace(ctx: Sink, path: string, actor: Actor): Promise<void> {
  const taskId = taskIdOf(path);
  const read = await ctx.store.read(path).catch(() => undefined);
  if (!read?.ok || read.data.status !== 'cancelled') return;
  const g = await taskGit(ctx, taskId, read.data, { anyRun: true }).catch(() => undefined);
  if (!g?.worktree) return;
  try {
    if (await removeWorktree(g.repoRoot, g.worktree)) ctx.logger.info({ component: actor, task: taskId, branch: g.branch }, `${taskId}: cancelled; worktree removed, branch ${g.branch} kept`);
  } catch (err) {
    ctx.logger.warn({ component: actor, task: taskId, err }, `${taskId}: cancelled, but its worktree ${g.worktree} was kept: ${shortMessage(err)}`);
  }
}
