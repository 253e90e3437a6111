// Agents run in their own process groups, so a worker killed with SIGKILL would leave them running
// while its job is re-delivered to another worker: two agents on one task. The reaper is a tiny
// child that holds a pipe from the worker; when the pipe closes (the worker died, however) it
// SIGKILLs every process group still registered, then exits.
import { spawn, type ChildProcess } from 'node:child_process';

const SCRIPT = `
const groups = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 1) continue;
    if (line[0] === '+') groups.add(pid); else groups.delete(pid);
  }
});
process.stdin.on('end', () => {
  for (const pid of groups) { try { process.kill(-pid, 'SIGKILL'); } catch {} }
  process.exit(0);
});
process.on('SIGTERM', () => {}); process.on('SIGINT', () => {}); process.on('SIGHUP', () => {});
`;

export class Reaper {
  private readonly child: ChildProcess;

  constructor() {
    this.child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], env: {} });
    this.child.stdin!.on('error', () => {});
    // Must not keep the worker alive, nor die with a Ctrl-C aimed at the worker before it has reaped.
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  track(pgid: number): void {
    if (pgid > 1) this.child.stdin!.write(`+${pgid}\n`);
  }

  untrack(pgid: number): void {
    if (pgid > 1) this.child.stdin!.write(`-${pgid}\n`);
  }

  /** Normal exit: nothing left to reap once every run has ended. */
  close(): void {
    this.child.stdin!.end();
  }
}
