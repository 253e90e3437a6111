// The workspace step of a run in one call: pre-flight, then the task's worktree (created or found
// again) or, in in-place mode, the person's checkout. This is what the executor calls at claim.
import { gitConfigDigest } from './git-dir.js';
import { preflight, type PreflightResult, type WorkspaceMode } from './preflight.js';
import { createWorktree, inPlaceWorkspace, taskBranch, type Workspace } from './worktree.js';

export interface OpenWorkspaceRequest {
  taskId: string;
  /** The task's working_dir, resolved and checked against WORKSPACE_ROOTS (executor/workspace.ts). */
  workingDir: string;
  mode: WorkspaceMode;
  /** The note's `branch` and `base_branch`, if any. */
  branch?: string;
  baseBranch?: string;
  /** WORKTREES_DIR (config, else defaultWorktreesDir()). */
  worktreesDir: string;
  vaultDir: string;
  /** The note's allow_dirty (in-place mode only). */
  allowDirty?: boolean;
  /** Checks that need the repository (e.g. the note's gates against its GATES) and must refuse
   *  the task before a worktree exists for it; throws to refuse. */
  beforeCreate?: (pre: PreflightResult) => void;
}

export interface OpenedWorkspace extends Workspace {
  commonDir: string;
  preflight: PreflightResult;
  /** In place: the git config's digest before the agent runs, checked before we commit (git-dir.ts). */
  configDigest?: string;
}

/** Throws WorkspaceError (see errors.ts for which codes are transient). */
export async function openWorkspace(req: OpenWorkspaceRequest): Promise<OpenedWorkspace> {
  const branch = taskBranch(req.taskId, req.branch);
  const pre = await preflight({
    workingDir: req.workingDir,
    mode: req.mode,
    branch,
    ...(req.baseBranch ? { baseBranch: req.baseBranch } : {}),
    worktreesDir: req.worktreesDir,
    taskId: req.taskId,
    vaultDir: req.vaultDir,
    ...(req.allowDirty ? { allowDirty: true } : {}),
  });
  req.beforeCreate?.(pre);
  const ws =
    req.mode === 'in-place'
      ? inPlaceWorkspace(pre)
      : await createWorktree({ repoRoot: pre.repoRoot, path: pre.worktreePath!, branch, baseBranch: pre.baseBranch, baseCommit: pre.baseCommit, subdir: pre.subdir, ...(pre.worktrees ? { worktrees: pre.worktrees } : {}) });
  // In place, `.git/config` is in the agent's reach: what git will read is remembered now.
  const configDigest = req.mode === 'in-place' ? await gitConfigDigest(ws.root, pre.commonDir) : undefined;
  return { ...ws, commonDir: pre.commonDir, preflight: pre, ...(configDigest ? { configDigest } : {}) };
}
