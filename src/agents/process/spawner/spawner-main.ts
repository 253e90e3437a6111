// The spawner: a small long-lived process the service starts (`start`: once it is up; else on the
// first run), which forks every file-backed agent run in its place. Forking the ~90 MB service cost
// ~23 ms of its main thread per spawn plus copy-on-write faults afterwards; this process's heap
// barely changes, so its forks are cheap and leave the service's pages alone. It imports node:
// built-ins and os/safe-open (no dependency, nothing heavy): its heap stays tiny.
// It exits when the service goes (IPC disconnect); the agents it started keep their own groups.
import type { SpawnerReply, SpawnRequest } from './protocol.js';
import { startChild } from './start-child.js';

process.title = 'vaultrunner-spawner';
// A terminal's Ctrl-C reaches the whole foreground group; the service decides what stops.
process.on('SIGINT', () => {});
process.on('disconnect', () => process.exit(0));

const send = (m: SpawnerReply): void => {
  if (process.connected) process.send?.(m);
};

process.on('message', (m: SpawnRequest) => {
  if (m?.type !== 'spawn') return;
  const id = m.id;
  startChild(m, {
    spawned: (pid) => send({ type: 'spawned', id, pid }),
    error: (err) => send({ type: 'error', id, ...err }),
    exit: (exitCode, signal) => send({ type: 'exit', id, exitCode, signal }),
  });
});
send({ type: 'ready' });
