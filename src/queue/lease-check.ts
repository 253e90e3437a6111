// The fencing check against the vault's lease store: a result counts only under the current lease.
import type { LeaseStore } from '../vault/lease-store.js';
import type { LeaseCheck } from './ports.js';

export function leaseCheck(leases: Pick<LeaseStore, 'get'>): LeaseCheck {
  return {
    async isCurrent(taskId, token) {
      const cur = await leases.get(taskId);
      return cur !== undefined && cur.token === token && cur.outcome === undefined;
    },
  };
}
