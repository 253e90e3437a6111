// Real processes: a run's process group is found by the marker in its environment (how the
// watchdog finds an agent whose pid never reached the lease) and ended by terminateGroup.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { groupsWithEnv, hasEntry, RUN_MARKER_ENV, terminateGroup } from '../../src/os/process.js';

/** Processes (not groups) whose environment carries the marker. */
function withMarker(token: string): number {
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(`${RUN_MARKER_ENV}=${token}`)) n++;
    } catch {
      /* gone or not ours */
    }
  }
  return n;
}

it.skipIf(!existsSync('/proc/self/environ'))('finds the groups of processes carrying a run marker, and only those', async () => {
  const token = `t${process.pid}${Date.now()}`;
  // A detached leader with a child in its group, both carrying the marker; and a bystander with another value.
  const script = "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' }); setTimeout(() => {}, 20000)";
  const marked = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_MARKER_ENV]: token } });
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_MARKER_ENV]: `${token}x` } });
  try {
    // Wait until the leader's child is up too, so "the whole group went" means something.
    const until = Date.now() + 10_000;
    while (withMarker(token) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(withMarker(token)).toBe(2);
    expect(groupsWithEnv(RUN_MARKER_ENV, token)).toEqual([marked.pid]);
    const exited = new Promise((r) => marked.once('exit', r));
    expect(await terminateGroup(marked.pid!, 500)).toBe('exited');
    await exited;
    expect(withMarker(token)).toBe(0); // the child in its group went too (a zombie has no environment)
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

it('matches a whole NAME=value entry of an environment block, nothing shorter or longer', () => {
  const env = (...e: string[]) => Buffer.from(e.join('\0'));
  const want = Buffer.from('VAULTRUNNER_RUN=abc');
  expect(hasEntry(env('VAULTRUNNER_RUN=abc'), want)).toBe(true);
  expect(hasEntry(env('A=1', 'VAULTRUNNER_RUN=abc', 'B=2'), want)).toBe(true);
  expect(hasEntry(env('A=1', 'VAULTRUNNER_RUN=abc', ''), want)).toBe(true);
  expect(hasEntry(env('VAULTRUNNER_RUN=abcd', 'XVAULTRUNNER_RUN=abc', 'A=VAULTRUNNER_RUN=abc'), want)).toBe(false);
  expect(hasEntry(env('VAULTRUNNER_RUN=ab'), want)).toBe(false);
  expect(hasEntry(env('VAULTRUNNER_RUN=abcd', 'VAULTRUNNER_RUN=abc'), want)).toBe(true);
  expect(hasEntry(Buffer.alloc(0), want)).toBe(false);
});
