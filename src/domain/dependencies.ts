// blocked_by: cycle detection and what a dependency's status means for the waiting task. Pure.
import type { Status } from './status.js';

export type DependencyStatus = Status | 'missing' | 'invalid';

/** A path of ids from `id` back to itself through `depsOf`, if there is one. */
export function findCycle(id: string, depsOf: (id: string) => readonly string[] | undefined): string[] | undefined {
  const stack: string[] = [id];
  const seen = new Set<string>();
  const visit = (cur: string): string[] | undefined => {
    for (const d of depsOf(cur) ?? []) {
      if (d === id) return [...stack, d];
      if (seen.has(d)) continue;
      seen.add(d);
      stack.push(d);
      const found = visit(d);
      if (found) return found;
      stack.pop();
    }
    return undefined;
  };
  return visit(id);
}

export type DependencyVerdict = { kind: 'met' } | { kind: 'waiting'; on: string[] } | { kind: 'problem'; problem: string };

/** AND semantics: every dependency done. Missing, cancelled or failed ones are problems, never silent waits. */
export function judgeDependencies(deps: readonly string[], statusOf: (name: string) => DependencyStatus, cycle?: readonly string[]): DependencyVerdict {
  if (deps.length === 0) return { kind: 'met' };
  if (cycle) return { kind: 'problem', problem: `blocked_by forms a cycle: ${cycle.join(' → ')}` };
  const on: string[] = [];
  for (const name of deps) {
    const s = statusOf(name);
    if (s === 'done') continue;
    if (s === 'missing') return { kind: 'problem', problem: `blocked_by ${name}: no task with that name in Needs_Action, Pending_Approval or Done` };
    if (s === 'cancelled' || s === 'failed') return { kind: 'problem', problem: `blocked_by ${name}: that task is ${s}` };
    on.push(name);
  }
  return on.length ? { kind: 'waiting', on } : { kind: 'met' };
}
