// The queued tasks in dispatch order, taken one at a time: a pass usually fills its free slots
// with the first few, so a binary heap (O(N) to build, O(log N) a take) replaces a full sort of
// the whole queue on every pass (one follows each plan and each run's end).
import { dispatchOrder, type Dispatchable } from '../domain/dispatch.js';

export class DispatchHeap<T extends Dispatchable> {
  private readonly items: T[];

  constructor(items: T[]) {
    this.items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.items.length;
  }

  /** The first task in dispatch order, removed. */
  take(): T | undefined {
    const a = this.items;
    if (a.length <= 1) return a.pop();
    const top = a[0]!;
    a[0] = a.pop()!;
    this.down(0);
    return top;
  }

  /** What is left, in no particular order (the heap is empty afterwards). */
  drain(): T[] {
    return this.items.splice(0);
  }

  private down(i: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) return;
      const r = l + 1;
      const m = r < a.length && dispatchOrder(a[r]!, a[l]!) < 0 ? r : l;
      if (dispatchOrder(a[m]!, a[i]!) >= 0) return;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}
