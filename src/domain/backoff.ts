// Retry backoff. Pure: the random source is passed in.

/** First retry after `base`, doubling each time, ±25 % jitter, at most an hour. */
export function backoffMs(base: number, failures: number, random: () => number = Math.random): number {
  const raw = Math.min(base * 2 ** Math.max(0, failures - 1), 3_600_000);
  return Math.round(raw * (0.75 + random() * 0.5));
}

/** Planning retries: `base`, doubling, no jitter (a planner failure is rarely a thundering herd). */
export function planBackoffMs(base: number, failures: number): number {
  return Math.min(base * 2 ** Math.max(0, failures - 1), 3_600_000);
}
