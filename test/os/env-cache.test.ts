// The scanner's cache of environments: a scan at each run's end reads only the processes new since
// the last one, and never answers for a process from what another process under its pid held.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupsWithEnv, RUN_MARKER_ENV, type EnvCache } from '../../src/os/process.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A folder laid out like /proc with one process, `100`, in group 4242, carrying `token`. */
function fakeProc(token: string): string {
  const root = mkdtempSync(join(tmpdir(), 'vr-envcache-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  putProcess(root, token);
  return root;
}

function putProcess(root: string, token: string): void {
  mkdirSync(join(root, '100'));
  writeFileSync(join(root, '100', 'environ'), `PATH=/bin\0${RUN_MARKER_ENV}=${token}\0`);
  writeFileSync(join(root, '100', 'stat'), '100 (agent) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0');
}

describe('the environment cache', () => {
  it('answers for the same process from its first read, and reads a new process under the same pid afresh', () => {
    const root = fakeProc('first');
    const cache: EnvCache = new Map();
    const scan = (token: string) => groupsWithEnv(RUN_MARKER_ENV, token, { root, cache, settledMs: 0 });
    expect(scan('first')).toEqual([4242]);
    expect([...cache.keys()]).toEqual([100]);
    // Same folder (same process): its environment is not read again.
    writeFileSync(join(root, '100', 'environ'), `${RUN_MARKER_ENV}=second\0`);
    expect(scan('second')).toEqual([]);
    expect(scan('first')).toEqual([4242]);
    // The process went and another took its pid: a new folder, read afresh.
    rmSync(join(root, '100'), { recursive: true });
    putProcess(root, 'second');
    expect(scan('second')).toEqual([4242]);
    expect(scan('first')).toEqual([]);
    // Gone: its entry goes with it.
    rmSync(join(root, '100'), { recursive: true });
    expect(scan('second')).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('keeps no read made while the process was young (a child still between fork and exec)', () => {
    const root = fakeProc('before-exec');
    const cache: EnvCache = new Map();
    const scan = (token: string) => groupsWithEnv(RUN_MARKER_ENV, token, { root, cache });
    expect(scan('before-exec')).toEqual([4242]);
    expect(cache.size).toBe(0);
    writeFileSync(join(root, '100', 'environ'), `${RUN_MARKER_ENV}=after-exec\0`);
    expect(scan('after-exec')).toEqual([4242]);
  });

  it.skipIf(process.platform !== 'linux')('finds a real process by its marker from the cache as without it, and keeps only live pids', async () => {
    const token = `c${process.pid}${Date.now()}`;
    const marked = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { detached: true, stdio: 'ignore', env: { [RUN_MARKER_ENV]: token } });
    cleanup.push(() => marked.kill('SIGKILL'));
    await new Promise((r) => marked.once('spawn', r));
    const cache: EnvCache = new Map();
    const scan = () => groupsWithEnv(RUN_MARKER_ENV, token, { cache, settledMs: 0 });
    expect(scan()).toEqual([marked.pid]);
    expect(cache.get(marked.pid!)?.environ?.includes(`${RUN_MARKER_ENV}=${token}`)).toBe(true);
    expect(scan()).toEqual([marked.pid]);
    expect(groupsWithEnv(RUN_MARKER_ENV, token)).toEqual([marked.pid]);
    const gone = new Promise((r) => marked.once('exit', r));
    marked.kill('SIGKILL');
    await gone;
    expect(scan()).toEqual([]);
    expect(cache.has(marked.pid!)).toBe(false);
  });
});
