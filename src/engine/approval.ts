// Approval is a person's act, so it is machine state, not a note key alone: `approved: true`
// counts only when it was set after the service showed the task awaiting approval (the service
// resets a self-written `approved: true` then), and only for the type, agent, body, working_dir,
// permission_mode, model, branches and allow_dirty it was given for. A note can therefore never approve itself, and an approved note edited into something else
// waits again.
import { createHash } from '../os/lazy-crypto.js';
import type { Config } from '../config/config.js';
import type { Task } from '../domain/task.js';
import type { TaskState, TaskStateStore } from '../vault/task-state.js';

/** What decides what a run does and where: a change of any voids an approval. (Gates, timeout and
 *  budget only narrow what the operator allows; priority and dependencies only order runs.
 *  `branch` and `base_branch` the service writes itself at a run's start: the approval follows
 *  those writes, see followApproval in executor/run-task.ts.) */
export type ApprovedFields = Pick<Task, 'type'> & Partial<Pick<Task, 'agent' | 'workingDir' | 'permissionMode' | 'model' | 'branch' | 'baseBranch' | 'allowDirty'>>;

/** What an approval is given for. */
export function approvalFingerprint(task: ApprovedFields, body: string): string {
  const where = [task.workingDir ?? null, task.permissionMode ?? null, task.model ?? null, task.branch ?? null, task.baseBranch ?? null, task.allowDirty ?? false];
  return createHash('sha256').update(JSON.stringify([task.type, task.agent ?? null, body, where])).digest('hex');
}

/** Its type is not whitelisted, or the note asks for approval. */
export function needsApproval(task: Pick<Task, 'type' | 'requiresApproval'>, config: Pick<Config, 'executorTypes'>): boolean {
  return !config.executorTypes.includes(task.type) || task.requiresApproval;
}

/** Approved, for this very content (what a `planned` task needs to run). */
export function approvalHolds(task: Task, body: string, st: TaskState): boolean {
  return task.approved && st.approvedFor !== undefined && st.approvedFor === approvalFingerprint(task, body);
}

/** Awaiting approval, `approved: true` set by a person after the task was shown waiting on this content. */
export function approvalGiven(task: Task, body: string, st: TaskState): boolean {
  return task.approved && st.approvalAsked !== undefined && st.approvalAsked === approvalFingerprint(task, body);
}

/**
 * A person approved the task as it is now (the CLI's or the web page's `approve`, possibly before
 * the service asked): recorded as asked and given for this very content, before the note says
 * approved: true (a service that sees the note first then finds it). Returns how to take it back
 * when the note's edit does not happen.
 */
export async function recordPersonApproval(states: Pick<TaskStateStore, 'get' | 'patch'>, id: string, task: ApprovedFields, body: string): Promise<() => Promise<void>> {
  const before = await states.get(id);
  const fp = approvalFingerprint(task, body);
  await states.patch(id, { approvalAsked: fp, approvedFor: fp });
  return async () => void (await states.patch(id, { approvalAsked: before.approvalAsked, approvedFor: before.approvedFor }));
}
