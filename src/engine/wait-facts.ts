// Gathers the facts domain/readiness.ts judges, the same way for every caller: the executor (its
// own runs), Dashboard.md (the executor's runs), and `list`/`show` in another process (the
// leases on disk and the agent health the service recorded). One gatherer, one judge.
import { realDirKey } from './working-dir.js';
import { approvalGiven, approvalHolds, needsApproval } from './approval.js';
import type { Config } from '../config/config.js';
import { findCycle, type DependencyStatus } from '../domain/dependencies.js';
import { dirKey } from '../domain/dispatch.js';
import { readiness, type Readiness } from '../domain/readiness.js';
import { readAgentHealth } from '../vault/agent-health.js';
import type { VaultPaths } from '../vault/layout.js';
import { LeaseStore } from '../vault/lease-store.js';
import type { IndexEntry, TaskIndex } from '../vault/task-index.js';
import type { TaskState, TaskStateStore } from '../vault/task-state.js';

/** A run holding a slot: a task attempt, or an agent planner (which holds no working dir). */
export interface RunSlot {
  taskId: string;
  kind: 'run' | 'plan';
  dirKey?: string;
}

export interface RunningSet {
  count: number;
  max: number;
  has(id: string): boolean;
  busyDirs: ReadonlyMap<string, string>;
}

export function runningSet(slots: readonly RunSlot[], max: number): RunningSet {
  const ids = new Set(slots.map((s) => s.taskId));
  const busyDirs = new Map<string, string>();
  for (const s of slots) if (s.kind === 'run' && s.dirKey) busyDirs.set(s.dirKey, s.taskId);
  return { count: slots.length, max, has: (id) => ids.has(id), busyDirs };
}

export interface WaitSources {
  config: Pick<Config, 'executorTypes' | 'maxConcurrent' | 'agent' | 'planner'>;
  index: TaskIndex;
  taskState: TaskStateStore;
  now: number;
  running: RunningSet;
  /** Last known health of an agent CLI (undefined: not probed yet, so not a reason to wait). */
  agentHealth(name: string): { ok: boolean; detail: string } | undefined;
  /** For a one-shot view of every task (list, Dashboard): each dependency looked up once, not
   *  once per task waiting on it (a stat of Done/<name>.md each time). */
  dependencyMemo?: Map<string, Promise<DependencyStatus>>;
}

function dependencyStatus(src: WaitSources, name: string): Promise<DependencyStatus> {
  const memo = src.dependencyMemo;
  if (!memo) return src.index.dependencyStatus(name);
  let p = memo.get(name);
  if (!p) memo.set(name, (p = src.index.dependencyStatus(name)));
  return p;
}

const noDependency = (): DependencyStatus => 'missing';

/** The one readiness of one index entry. */
export async function readinessOf(entry: IndexEntry, src: WaitSources): Promise<Readiness> {
  const { state } = entry;
  if (state.kind !== 'task') return readinessNow(entry, src)!;
  const task = state.task;
  const st = await src.taskState.get(task.id);
  // Most tasks wait on nothing: no map, no closures (list and the Dashboard ask for every task).
  let deps: ((n: string) => DependencyStatus) | undefined;
  if (task.blockedBy.length) {
    const found = new Map<string, DependencyStatus>();
    for (const name of task.blockedBy) found.set(name, await dependencyStatus(src, name));
    deps = (n) => found.get(n) ?? 'missing';
  }
  return judge(entry, state, src, st, deps, task.workingDir ? await realDirKey(task) : dirKey(task));
}

/**
 * readinessOf() without waiting, when every fact is at hand: the task's state known (a cached
 * absence or a one-shot snapshot), no dependencies to look up, no working dir to resolve.
 * Undefined otherwise (ask readinessOf). `list` and `show` take most tasks this way: no promise each.
 */
export function readinessNow(entry: IndexEntry, src: WaitSources): Readiness | undefined {
  const { state } = entry;
  if (state.kind === 'unreadable') return { kind: 'problem', problem: `unreadable: ${state.reason}` };
  if (state.kind === 'invalid') return { kind: 'problem', problem: `invalid: ${state.problems.map((p) => p.key).join(', ')}` };
  const task = state.task;
  if (task.blockedBy.length || task.workingDir) return undefined;
  const st = src.taskState.peek(task.id);
  return st && judge(entry, state, src, st, undefined, dirKey(task));
}

/** The facts gathered, judged by the one readiness function. */
function judge(entry: IndexEntry, state: Extract<IndexEntry['state'], { kind: 'task' }>, src: WaitSources, st: TaskState, deps: ((n: string) => DependencyStatus) | undefined, key: string): Readiness {
  const task = state.task;
  const agent = task.agent ?? src.config.agent;
  const health = src.agentHealth(agent);
  return readiness({
    id: task.id,
    status: task.status,
    folder: entry.folder,
    body: state.body,
    // "Runs without approval": a whitelisted type whose note does not ask for one.
    whitelisted: !needsApproval(task, src.config),
    // A note's own `approved: true` never counts (see engine/approval.ts).
    approved: task.status === 'awaiting_approval' ? approvalGiven(task, state.body, st) : approvalHolds(task, state.body, st),
    blockedBy: task.blockedBy,
    dependencyStatus: deps ?? noDependency,
    cycle: deps ? findCycle(task.id, (id) => {
      const e = src.index.byId(id);
      return e?.state.kind === 'task' ? e.state.task.blockedBy : [];
    }) : undefined,
    now: src.now,
    notBefore: st.notBefore,
    planNotBefore: st.planNotBefore,
    planGaveUp: st.planGaveUp !== undefined && st.planGaveUp === entry.hash ? `planning failed${task.error ? `: ${task.error}` : ''}; edit the note to try again` : undefined,
    plannerUsesAgent: src.config.planner === 'agent',
    agent: health ? { name: agent, health } : { name: agent },
    dirKey: key,
    busyDirs: src.running.busyDirs,
    running: src.running,
  });
}

/**
 * The same sources seen from another process (`list`, `show`): runs are the live leases on disk
 * (a planner's lease has attempt 0), agent health is what the service last recorded.
 */
export async function offlineWaitSources(opts: { config: Config; paths: VaultPaths; index: TaskIndex; taskState: TaskStateStore; now: number }): Promise<WaitSources> {
  const leases = new LeaseStore(opts.paths.leases, opts.config.leaseTtlMs, () => opts.now);
  const slots: RunSlot[] = [];
  for (const l of await leases.list()) {
    if (leases.isStale(l)) continue;
    const e = opts.index.byId(l.taskId);
    const task = e?.state.kind === 'task' ? e.state.task : undefined;
    slots.push({ taskId: l.taskId, kind: l.attempt === 0 ? 'plan' : 'run', ...(task ? { dirKey: await realDirKey(task) } : {}) });
  }
  const health = await readAgentHealth(opts.paths);
  return {
    config: opts.config,
    index: opts.index,
    taskState: opts.taskState,
    now: opts.now,
    running: runningSet(slots, opts.config.maxConcurrent),
    agentHealth: (name) => health[name],
    dependencyMemo: new Map(),
  };
}
