// Fault injection for crash tests, unset in normal use (one env lookup per point):
// - VAULTRUNNER_FAULT=<point>[:<n>]: the process SIGKILLs itself the n-th time (default first) it
//   passes that point;
// - VAULTRUNNER_FAULT_ENOSPC=<point>:<n>: the first n passes of that point throw ENOSPC, as a full
//   disk would (crash tests of "the outcome is recorded once there is room again").
const counts = new Map<string, number>();

/** How many times this point was passed, when `spec` (`<point>[:<n>]`) names it; else undefined. */
function passes(kind: string, spec: string | undefined, name: string): { n: number; nth: number } | undefined {
  if (!spec) return undefined;
  const [point, nth] = spec.split(':');
  if (point !== name) return undefined;
  const key = `${kind}:${name}`;
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return { n, nth: Number(nth ?? 1) };
}

export function faultPoint(name: string): void {
  const p = passes('kill', process.env.VAULTRUNNER_FAULT, name);
  if (p && p.n >= p.nth) process.kill(process.pid, 'SIGKILL');
}

export function faultDiskFull(name: string): void {
  const p = passes('enospc', process.env.VAULTRUNNER_FAULT_ENOSPC, name);
  if (p && p.n <= p.nth) throw Object.assign(new Error(`ENOSPC: no space left on device (fault ${name} #${p.n})`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}
