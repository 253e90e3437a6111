// The dispatch heap gives the queue in exactly dispatchOrder's order, and drain() leaves nothing.
import { describe, expect, it } from 'vitest';
import { dispatchOrder, type Dispatchable } from '../../src/domain/dispatch.js';
import type { Priority } from '../../src/domain/status.js';
import { DispatchHeap } from '../../src/executor/dispatch-heap.js';

const PRIORITIES: Priority[] = ['urgent', 'high', 'medium', 'low'];

function queue(n: number, seed: number): Dispatchable[] {
  let x = seed;
  const rand = (k: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % k);
  return Array.from({ length: n }, (_, i) => ({
    id: `task-${rand(1000)}-${i}`,
    firstSeen: rand(50), // many ties, so the id decides
    task: { priority: PRIORITIES[rand(4)]!, ...(rand(3) === 0 ? { due: `2026-12-${String(1 + rand(28)).padStart(2, '0')}` } : {}) },
  }));
}

describe('DispatchHeap', () => {
  it.each([0, 1, 2, 7, 100, 1000])('takes %i tasks in dispatch order', (n) => {
    for (const seed of [1, 2, 3]) {
      const items = queue(n, seed);
      const expected = [...items].sort(dispatchOrder);
      const heap = new DispatchHeap([...items]);
      const taken: Dispatchable[] = [];
      for (let t = heap.take(); t; t = heap.take()) taken.push(t);
      expect(taken).toEqual(expected);
      expect(heap.size).toBe(0);
    }
  });

  it('drain() returns what was not taken, and empties the heap', () => {
    const items = queue(50, 9);
    const heap = new DispatchHeap([...items]);
    const first = [heap.take()!, heap.take()!, heap.take()!];
    expect(first).toEqual([...items].sort(dispatchOrder).slice(0, 3));
    const rest = heap.drain();
    expect(rest).toHaveLength(47);
    expect(new Set([...first, ...rest])).toEqual(new Set(items));
    expect(heap.size).toBe(0);
    expect(heap.take()).toBeUndefined();
  });
});
