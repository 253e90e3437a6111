// A cancelled task's worktree goes away, its work does not: whatever the agent left is committed on
// the task branch first, then the worktree is removed and the branch kept (only `discard` deletes it).
import type { EngineContext } from '../../engine/context.js';
import { shortMessage } from '../../errors.js';
import { commitAll } from '../../workspace/commit.js';
import type { OpenedWorkspace } from '../../workspace/open.js';
import { removeWorktree } from '../../workspace/worktree.js';

export async function closeCancelled(ctx: EngineContext, taskId: string, title: string | undefined, ws: OpenedWorkspace): Promise<void> {
  if (ws.mode !== 'worktree') return;
  try {
    const c = await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: `${title ?? taskId} (cancelled)`, taskId, author: ctx.config.workspace.author, ownWorktree: true, branch: ws.branch, commonDir: ws.commonDir });
    await removeWorktree(ws.repoRoot, ws.root);
    ctx.logger.info({ component: 'executor', task: taskId, branch: ws.branch, head: c.headCommit }, `${taskId}: cancelled; worktree removed, branch ${ws.branch} kept${c.committed ? ' with the work so far committed' : ''}`);
  } catch (err) {
    // Kept rather than lost: doctor lists it, `discard` removes it.
    ctx.logger.warn({ component: 'executor', task: taskId, err }, `${taskId}: cancelled, but its worktree ${ws.root} was kept: ${shortMessage(err)}`);
  }
}
