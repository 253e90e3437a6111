// Durations as people write them: 500ms, 30s, 10m, 1h (a bare number means seconds).
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/;

// Every note of a vault tends to say the same few (`timeout: 10m`): each text parsed once.
const seen = new Map<string, number | undefined>();

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  if (seen.has(input)) return seen.get(input);
  if (seen.size >= 256) seen.clear();
  const ms = parseText(input);
  seen.set(input, ms);
  return ms;
}

function parseText(input: string): number | undefined {
  const m = RE.exec(input);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
}

/** Elapsed time for people: '850 ms', '1.1 s', '2 m 05 s', '1 h 02 m 05 s'. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} m ${sec} s` : `${m} m ${sec} s`;
}
