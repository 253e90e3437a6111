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

const diskFullCounts = new Map<string, number>();

/** VAULTRUNNER_FAULT_ENOSPC=<point>:<n>: the first n passes of that point throw ENOSPC, as a full
 *  disk would (crash tests of "the outcome is recorded once there is room again"). */
export function faultDiskFull(name: string): void {
  const spec = process.env.VAULTRUNNER_FAULT_ENOSPC;
  if (!spec) return;
  const [point, nth] = spec.split(':');
  if (point !== name) return;
  const n = (diskFullCounts.get(name) ?? 0) + 1;
  diskFullCounts.set(name, n);
  if (n <= Number(nth ?? 1)) throw Object.assign(new Error(`ENOSPC: no space left on device (fault ${name} #${n})`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}
