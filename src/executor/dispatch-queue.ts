// The `planned` tasks of Needs_Action/ in dispatch order, kept from one executor pass to the
// next. A pass follows every plan and every run's end, so rebuilding the queue each time (and a
// heap or a sort of it) made a burst of N notes cost O(N²). Here a full pass rebuilds it from the
// index; between full passes the index's own change events name the few notes to take out and
// put back in their place (binary search), so a pass costs O(changes · log N).
import { dispatchOrder } from '../domain/dispatch.js';
import type { Task } from '../domain/task.js';
import type { IndexEntry, IndexEvents } from '../vault/task-index.js';

/** A queued task: what dispatch order needs, and the index entry it was taken from. */
export interface Queued {
  entry: IndexEntry;
  id: string;
  firstSeen: number;
  task: Task;
  body: string;
}

/** What the queue needs of the task index (a TaskIndex). */
export interface QueueSource {
  withStatus(status: 'planned'): IndexEntry[];
  getPath(path: string): IndexEntry | undefined;
  on<K extends keyof IndexEvents>(event: K, fn: (...args: IndexEvents[K]) => void): unknown;
  off<K extends keyof IndexEvents>(event: K, fn: (...args: IndexEvents[K]) => void): unknown;
}

/** Past this many changed notes not yet taken in, the queue is rebuilt instead (an executor that
 *  does not pass, e.g. EXECUTOR_AUTORUN=false, would otherwise gather every path it ever saw). */
const MAX_NOTED = 10_000;

export class DispatchQueue {
  private order: Queued[] = [];
  private readonly byPath = new Map<string, Queued>();
  private readonly byId = new Map<string, Queued>();
  /** How many queued tasks name each agent (undefined: the configured default). */
  private readonly agentCount = new Map<string | undefined, number>();
  private readonly noted = new Set<string>();
  private stale = true;
  private readonly onEntry = (e: IndexEntry): void => {
    if (e.folder !== 'Needs_Action' || this.stale || this.noted.has(e.path)) return;
    if (this.noted.size >= this.maxNoted) {
      this.stale = true;
      this.noted.clear();
    } else this.noted.add(e.path);
  };

  private readonly maxNoted: number;

  constructor(
    private readonly index: QueueSource,
    opts: { maxNoted?: number } = {},
  ) {
    this.maxNoted = opts.maxNoted ?? MAX_NOTED;
    index.on('change', this.onEntry);
    index.on('remove', this.onEntry);
  }

  close(): void {
    this.index.off('change', this.onEntry);
    this.index.off('remove', this.onEntry);
  }

  /** True until the first rebuild, and after too many changes went untaken: sync() cannot say what changed. */
  get needsRebuild(): boolean {
    return this.stale;
  }

  get size(): number {
    return this.order.length;
  }

  /** The queue in dispatch order. Changed only by rebuild() and sync(): iterate it between them. */
  items(): readonly Queued[] {
    return this.order;
  }

  get(id: string): Queued | undefined {
    return this.byId.get(id);
  }

  /** The agents the queued tasks name (undefined: the configured default). */
  agents(): Iterable<string | undefined> {
    return this.agentCount.keys();
  }

  /** Everything again from the index (a full pass; and self-repair, should an event ever be missed). */
  rebuild(): void {
    this.noted.clear();
    this.stale = false;
    this.byPath.clear();
    this.byId.clear();
    this.agentCount.clear();
    const order: Queued[] = [];
    for (const e of this.index.withStatus('planned')) {
      const q = queued(e);
      if (!q) continue;
      order.push(q);
      this.byPath.set(e.path, q);
      this.byId.set(q.id, q);
      this.count(q, 1);
    }
    this.order = order.sort(dispatchOrder);
  }

  /**
   * Take in the notes that changed since the last rebuild or sync: `changed`, the queued tasks
   * that are new or whose note changed (to be judged again); `gone`, the ids that left the queue.
   */
  sync(): { changed: Queued[]; gone: string[] } {
    const changed: Queued[] = [];
    const gone: string[] = [];
    for (const path of this.noted) {
      const old = this.byPath.get(path);
      const e = this.index.getPath(path);
      if (old && old.entry === e) continue; // the same entry: an event for a note put back as it was
      const q = e && queued(e);
      if (old) {
        this.remove(old);
        if (!q) gone.push(old.id);
      }
      if (q) {
        this.insert(q);
        changed.push(q);
      }
    }
    this.noted.clear();
    return { changed, gone };
  }

  private insert(q: Queued): void {
    this.order.splice(this.bound(q, true), 0, q);
    this.byPath.set(q.entry.path, q);
    this.byId.set(q.id, q);
    this.count(q, 1);
  }

  private remove(q: Queued): void {
    const a = this.order;
    // Ties (equal under localeCompare, e.g. two spellings of one accent) sit side by side.
    let i = this.bound(q, false);
    while (i < a.length && a[i] !== q && dispatchOrder(a[i]!, q) === 0) i++;
    if (a[i] !== q) i = a.indexOf(q);
    if (i >= 0) a.splice(i, 1);
    this.byPath.delete(q.entry.path);
    if (this.byId.get(q.id) === q) this.byId.delete(q.id);
    this.count(q, -1);
  }

  private count(q: Queued, by: 1 | -1): void {
    const n = (this.agentCount.get(q.task.agent) ?? 0) + by;
    if (n > 0) this.agentCount.set(q.task.agent, n);
    else this.agentCount.delete(q.task.agent);
  }

  /** Binary search: the first position whose task comes after `q` (`pastEqual`) or not before it. */
  private bound(q: Queued, pastEqual: boolean): number {
    const a = this.order;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = dispatchOrder(a[mid]!, q);
      if (c < 0 || (pastEqual && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function queued(e: IndexEntry): Queued | undefined {
  if (e.folder !== 'Needs_Action' || e.state.kind !== 'task' || e.state.task.status !== 'planned') return undefined;
  return { entry: e, id: e.state.task.id, firstSeen: e.firstSeen, task: e.state.task, body: e.state.body };
}
