// Who holds a lock or lease: enough to tell, on the same host, whether that process is still alive
// (pid + start time survives pid reuse; boot id survives reboots).
import { readFileSync } from 'node:fs';
import { isAlive, processStartTime } from '../os/process.js';

// node:os on first use: `list` and `show` load this module and rarely ask.
const hostName = (): string => process.getBuiltinModule('node:os').hostname();

export interface Owner {
  host: string;
  pid: number;
  pidStart?: string;
  bootId?: string;
}

let bootIdCache: string | undefined;
export function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = '';
    }
  }
  return bootIdCache || undefined;
}

export function selfOwner(): Owner {
  return { host: hostName(), pid: process.pid, pidStart: processStartTime(process.pid), bootId: bootId() };
}

/** 'alive' | 'dead' on this host; 'unknown' for another host (then only expiry can tell). */
export function ownerState(owner: Owner): 'alive' | 'dead' | 'unknown' {
  if (owner.host !== hostName()) return 'unknown';
  if (owner.bootId && bootId() && owner.bootId !== bootId()) return 'dead';
  return isAlive(owner.pid, owner.pidStart) ? 'alive' : 'dead';
}

export function sameOwner(a: Owner, b: Owner): boolean {
  return a.host === b.host && a.pid === b.pid && a.pidStart === b.pidStart;
}
