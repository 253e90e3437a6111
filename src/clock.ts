// Injected so tests can control time-dependent decisions (backoff, leases, timeouts).
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Obsidian's date-time property format: local time, no zone suffix. */
export function obsidianDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
