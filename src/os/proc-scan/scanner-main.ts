// The scanner: a small process the service starts beside it to look through every process's
// environment for a run's marker (os/process.ts groupsWithEnv). Such a read waits for the other
// process's memory-map lock, and a process stuck in a page fault (a hung network mount) holds it
// for as long as it is stuck; here that stalls only this process, which the service kills.
// It imports node: built-ins and os/ only; it exits when the service goes (IPC disconnect).
import { groupsWithEnv, type EnvCache } from '../process.js';
import type { ScanReply, ScanRequest } from './protocol.js';

process.title = 'vaultrunner-scanner';
// A terminal's Ctrl-C reaches the whole foreground group; the service decides what stops.
process.on('SIGINT', () => {});
process.on('disconnect', () => process.exit(0));

const send = (m: ScanReply): void => {
  if (process.connected) process.send?.(m);
};

// Environments read by earlier scans: a scan at each run's end reads only the processes new since.
const caches = new Map<string, EnvCache>();

process.on('message', (m: ScanRequest) => {
  if (m?.type !== 'scan') return;
  const root = m.root ?? '/proc';
  let cache = caches.get(root);
  if (!cache) caches.set(root, (cache = new Map()));
  const groups = groupsWithEnv(m.name, m.value, { root, skip: new Set(m.skip), cache });
  send({ type: 'scanned', id: m.id, groups });
});
send({ type: 'ready' });
