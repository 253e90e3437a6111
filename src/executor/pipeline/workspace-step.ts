// Step 1 of a run: where the agent works. A task whose working_dir is inside a git repository gets
// its own worktree on its own branch (WORKSPACE_MODE=worktree) or, in in-place mode, the person's
// checkout after pre-flight; any other task keeps its plain folder (or scratch folder).
import type { Task } from '../../domain/task.js';
import type { EngineContext } from '../../engine/context.js';
import { editIfStatus } from '../../engine/transition.js';
import { realDirKey, resolveWorkingDir } from '../../engine/working-dir.js';
import { shortMessage } from '../../errors.js';
import type { FieldEdits } from '../../vault/frontmatter.js';
import { commandsForRepo } from '../../config/workspace-config.js';
import { selectGates } from '../../workspace/gates.js';
import { isWorkspaceError } from '../../workspace/errors.js';
import { openWorkspace, type OpenedWorkspace } from '../../workspace/open.js';
import { defaultWorktreesDir } from '../../workspace/worktree.js';
import type { SetupPlan } from './setup-step.js';

export interface TaskWorkspace {
  /** The agent's cwd. */
  cwd: string;
  /** The readiness key of what this run occupies: a worktree is the task's own, so never shared. */
  dirKey: string;
  /** Set when the task runs in git (a worktree, or in place). */
  git?: OpenedWorkspace;
  /** The task's title (commit messages). */
  title?: string;
  /** What the note records at the `executing` transition (base_branch, base_commit, branch). */
  edits: FieldEdits;
  /** The operator's SETUP for this repository, in worktree mode (never in a person's own checkout). */
  setup?: SetupPlan;
}

/** Throws VaultrunnerError: WORKSPACE_DENIED, or a WorkspaceError (retryable only if transient). */
export async function prepareWorkspace(ctx: EngineContext, task: Task): Promise<TaskWorkspace> {
  const dir = await resolveWorkingDir(task, ctx.config, ctx.paths);
  // One run per real directory: two paths to one folder (a symlink alias) share a key.
  const plain: TaskWorkspace = { cwd: dir, dirKey: await realDirKey(task), edits: {} };
  if (!task.workingDir) return plain;
  const wc = ctx.config.workspace;
  let ws: OpenedWorkspace;
  try {
    ws = await openWorkspace({
      taskId: task.id,
      workingDir: dir,
      mode: wc.mode,
      ...(task.branch ? { branch: task.branch } : {}),
      ...(task.baseBranch ? { baseBranch: task.baseBranch } : {}),
      worktreesDir: wc.worktreesDir ?? defaultWorktreesDir(),
      vaultDir: ctx.paths.root,
      // In place, a retry or resume finds the task's own earlier changes: only its first start needs a clean tree.
      ...(task.allowDirty || task.attempts > 0 ? { allowDirty: true } : {}),
      // The note's gates are checked before any worktree or agent: a note can only narrow GATES.
      beforeCreate: (pre) => void selectGates(commandsForRepo(wc, pre.repoRoot).gates, task.gates),
    });
  } catch (err) {
    // Not a repository: the task runs in its folder as before (there is nothing to branch).
    if (isWorkspaceError(err, 'NOT_A_REPO')) return plain;
    throw err;
  }
  const commands = commandsForRepo(wc, ws.repoRoot);
  const setup: SetupPlan | undefined = ws.mode === 'worktree' && commands.setup.length > 0 ? { root: ws.root, argv: commands.setup, timeoutMs: wc.setupTimeoutMs } : undefined;
  const edits: FieldEdits = { base_branch: ws.baseBranch, base_commit: ws.baseCommit };
  if (ws.mode === 'worktree' && task.branch !== ws.branch) edits.branch = ws.branch;
  ctx.logger.info({ component: 'executor', task: task.id, mode: ws.mode, branch: ws.branch, cwd: ws.cwd, created: ws.created }, `${task.id}: workspace ${ws.mode === 'worktree' ? `${ws.created ? 'created' : 'reused'} on ${ws.branch}` : 'in place'}`);
  return { cwd: ws.cwd, dirKey: ws.mode === 'worktree' ? `worktree:${ws.root}` : plain.dirKey, git: ws, edits, ...(setup ? { setup } : {}), ...(task.title ? { title: task.title } : {}) };
}

/** A transient workspace failure (a lock, a moved base): the task stays `planned` and is tried again after the backoff. */
export async function deferTask(ctx: EngineContext, path: string, task: Task, err: unknown): Promise<void> {
  const code = (err as { code?: string }).code;
  const error = `${code ? `${code}: ` : ''}${shortMessage(err, 280)}`;
  ctx.logger.warn({ component: 'executor', task: task.id, code }, `${task.id}: workspace not ready, will try again: ${error}`);
  await ctx.taskState.patch(task.id, { notBefore: ctx.clock.now() + ctx.config.retryBackoffMs });
  if (task.error !== error) await editIfStatus(ctx, path, task.id, ['planned'], { error });
}
