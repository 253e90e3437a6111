// blocked_by gating (AND semantics) and dispatch order. A missing, cancelled or cyclic
// dependency is a problem to report, never something to wait on silently.
import type { IndexEntry, TaskIndex } from './task-index.js';
import { PRIORITY_RANK } from './status.js';
import type { Task } from './task.js';

export type Readiness = { ready: true } | { ready: false; waitingOn: string[] } | { ready: false; problem: string };

export async function readiness(task: Task, index: TaskIndex): Promise<Readiness> {
  if (task.blockedBy.length === 0) return { ready: true };
  const cycle = findCycle(task, index);
  if (cycle) return { ready: false, problem: `blocked_by forms a cycle: ${cycle.join(' → ')}` };
  const waiting: string[] = [];
  for (const name of task.blockedBy) {
    const s = await index.dependencyStatus(name);
    if (s === 'done') continue;
    if (s === 'missing') return { ready: false, problem: `blocked_by ${name}: no task with that name in Needs_Action, Pending_Approval or Done` };
    if (s === 'cancelled' || s === 'failed') return { ready: false, problem: `blocked_by ${name}: that task is ${s}` };
    waiting.push(name);
  }
  return waiting.length ? { ready: false, waitingOn: waiting } : { ready: true };
}

/** A path of ids from `task` back to itself through active tasks' blocked_by, if there is one. */
export function findCycle(task: Task, index: TaskIndex): string[] | undefined {
  const stack: string[] = [task.id];
  const seen = new Set<string>();
  const visit = (id: string): string[] | undefined => {
    const e = index.byId(id);
    const deps = e?.state.kind === 'task' ? e.state.task.blockedBy : [];
    for (const d of deps) {
      if (d === task.id) return [...stack, d];
      if (seen.has(d)) continue;
      seen.add(d);
      stack.push(d);
      const found = visit(d);
      if (found) return found;
      stack.pop();
    }
    return undefined;
  };
  return visit(task.id);
}

/** urgent > high > medium > low, then earliest due (none last), then oldest. */
export function dispatchOrder(a: IndexEntry & { task: Task }, b: IndexEntry & { task: Task }): number {
  const p = PRIORITY_RANK[a.task.priority] - PRIORITY_RANK[b.task.priority];
  if (p !== 0) return p;
  const da = a.task.due ?? '\uffff';
  const db = b.task.due ?? '\uffff';
  if (da !== db) return da < db ? -1 : 1;
  return a.firstSeen - b.firstSeen || a.id.localeCompare(b.id);
}
