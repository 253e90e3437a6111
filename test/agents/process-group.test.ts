// Real processes: a run's process group is found by the marker in its environment (how the
// watchdog finds an agent whose pid never reached the lease) and ended by terminateGroup.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { groupsWithEnv, RUN_MARKER_ENV, terminateGroup } from '../../src/agents/process-group.js';

it.skipIf(!existsSync('/proc/self/environ'))('finds the groups of processes carrying a run marker, and only those', async () => {
  const token = `t${process.pid}${Date.now()}`;
  // A detached leader with a child in its group, both carrying the marker; and a bystander with another value.
  const script = "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' }); setTimeout(() => {}, 20000)";
  const marked = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_MARKER_ENV]: token } });
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_MARKER_ENV]: `${token}x` } });
  try {
    await new Promise((r) => setTimeout(r, 300));
    expect(groupsWithEnv(RUN_MARKER_ENV, token)).toEqual([marked.pid]);
    const exited = new Promise((r) => marked.once('exit', r));
    expect(await terminateGroup(marked.pid!, 500)).toBe('exited');
    await exited;
    expect(groupsWithEnv(RUN_MARKER_ENV, token)).toEqual([]); // the child in its group went too
    expect(groupsWithEnv(RUN_MARKER_ENV, `${token}x`)).toEqual([other.pid]);
  } finally {
    for (const c of [marked, other]) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
});
