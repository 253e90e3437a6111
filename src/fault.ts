// Fault injection for crash tests: VAULTRUNNER_FAULT=<point>[:<n>] makes the process SIGKILL itself
// the n-th time (default first) it passes that point. Unset in normal use; costs one lookup.
const counts = new Map<string, number>();

export function faultPoint(name: string): void {
  const spec = process.env.VAULTRUNNER_FAULT;
  if (!spec) return;
  const [point, nth] = spec.split(':');
  if (point !== name) return;
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  if (n >= Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
