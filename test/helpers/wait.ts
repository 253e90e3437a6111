// The one wait helper of the suite: wait on a fact (a condition that becomes true, or an engine
// event), never on a fixed sleep before asserting that something did not happen.
import type { EngineEventMap, EngineEventName, EngineEvents } from '../../src/engine/events.js';

export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Poll `fn` until it returns something truthy; that value is returned. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 15_000, everyMs = 50): Promise<Truthy<T>> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last as Truthy<T>;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** The next engine event `name` matching `match`. */
export function nextEvent<K extends EngineEventName>(events: EngineEvents, name: K, match: (e: EngineEventMap[K]) => boolean = () => true, timeoutMs = 15_000): Promise<EngineEventMap[K]> {
  return events.next(name, match, timeoutMs);
}

/**
 * Resolves after `count` more events `name` (matching `match`) have been emitted from now: e.g.
 * "two dispatch passes happened since the task became eligible, and it was not run".
 */
export function eventsFrom<K extends EngineEventName>(events: EngineEvents, name: K, count: number, match: (e: EngineEventMap[K]) => boolean = () => true, timeoutMs = 15_000): Promise<EngineEventMap[K][]> {
  return new Promise((resolve, reject) => {
    const seen: EngineEventMap[K][] = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`only ${seen.length} of ${count} ${name} events within ${timeoutMs}ms`));
    }, timeoutMs);
    const off = events.on(name, (e) => {
      if (!match(e)) return;
      seen.push(e);
      if (seen.length < count) return;
      clearTimeout(timer);
      off();
      resolve(seen);
    });
  });
}

/** Record every event `name` from now on (for assertions over a whole run). */
export function recordEvents<K extends EngineEventName>(events: EngineEvents, name: K): { list: (EngineEventMap[K] & { at: number })[]; stop: () => void } {
  const list: (EngineEventMap[K] & { at: number })[] = [];
  const stop = events.on(name, (e) => list.push({ ...e, at: Date.now() }));
  return { list, stop };
}
