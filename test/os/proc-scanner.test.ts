// The scan for a run's processes (every process's environment) runs in the scanner process, so a
// process whose environment cannot be read (its memory-map lock held by a hung page fault) stalls
// only the scanner: the scan fails in time, the scanner is killed, and that process is skipped.
// The stuck process is played by a FIFO whose writer never writes: a real read that blocks.
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcScanner, setSharedScanner } from '../../src/os/proc-scan/proc-scanner.js';
import { isAlive, RUN_MARKER_ENV } from '../../src/os/process.js';
import { VaultrunnerError } from '../../src/errors.js';
import { initVault } from '../../src/vault/init-vault.js';
import { createHarness, fixtureAgent, waitFor, type Harness } from '../helpers/vault-harness.js';

const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) f();
});

/** A folder laid out like /proc: `100` carries the marker (group 4242), `200`'s environ never answers. */
function fakeProc(token: string): { root: string; writer: number } {
  const root = mkdtempSync(join(tmpdir(), 'vr-fakeproc-'));
  mkdirSync(join(root, '100'));
  writeFileSync(join(root, '100', 'environ'), `PATH=/bin\0${RUN_MARKER_ENV}=${token}\0`);
  writeFileSync(join(root, '100', 'stat'), '100 (agent) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0');
  mkdirSync(join(root, '200'));
  execFileSync('mkfifo', [join(root, '200', 'environ')]);
  // Held open for writing (O_RDWR does not wait for a reader): the scanner's open succeeds, its read blocks.
  const writer = openSync(join(root, '200', 'environ'), constants.O_RDWR);
  cleanup.push(() => {
    closeSync(writer);
    rmSync(root, { recursive: true, force: true });
  });
  return { root, writer };
}

function scanner(opts: ConstructorParameters<typeof ProcScanner>[0]): ProcScanner {
  const s = new ProcScanner(opts);
  cleanup.push(() => s.close());
  return s;
}

describe('the process scanner', () => {
  it('finds the group of a real process carrying the marker, and not one with another value', async () => {
    const token = `t${process.pid}${Date.now()}`;
    const marked = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { detached: true, stdio: 'ignore', env: { [RUN_MARKER_ENV]: token } });
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { detached: true, stdio: 'ignore', env: { [RUN_MARKER_ENV]: `${token}x` } });
    cleanup.push(() => [marked, other].forEach((c) => c.kill('SIGKILL')));
    await Promise.all([marked, other].map((c) => new Promise((r) => c.once('spawn', r))));
    const s = scanner({});
    expect(await waitFor(async () => (await s.groupsWithEnv(RUN_MARKER_ENV, token)).length > 0 && s.groupsWithEnv(RUN_MARKER_ENV, token), 'the marked group')).toEqual([marked.pid]);
    expect(await s.groupsWithEnv(RUN_MARKER_ENV, `${token}x`)).toEqual([other.pid]);
    expect(s.pid).toBeGreaterThan(0);
    expect(s.pid).not.toBe(process.pid); // read in another process
  });

  it('a read that never returns fails the scan in time without stalling us; that process is skipped from then on', async () => {
    const token = 'stuck-token';
    const { root } = fakeProc(token);
    const s = scanner({ root, timeoutMs: 400 });
    let ticks = 0;
    const tick = setInterval(() => ticks++, 20);
    cleanup.push(() => clearInterval(tick));
    const first = await s.groupsWithEnv(RUN_MARKER_ENV, token).then(
      () => undefined,
      (err: unknown) => err,
    );
    // Our event loop ran all along (a blocking read here would have stopped every timer).
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(first).toBeInstanceOf(VaultrunnerError);
    expect((first as VaultrunnerError).code).toBe('PROC_SCAN_FAILED');
    expect((first as VaultrunnerError).retryable).toBe(true);
    expect((first as Error).message).toMatch(/process 200 is stuck/);
    expect(s.skipped).toEqual([200]);
    // The next scan (a new scanner: the stuck one was killed) skips 200 and answers.
    expect(await s.groupsWithEnv(RUN_MARKER_ENV, token)).toEqual([4242]);
    // Once that process is gone, it is read again.
    rmSync(join(root, '200'), { recursive: true, force: true });
    expect(await s.groupsWithEnv(RUN_MARKER_ENV, token)).toEqual([4242]);
    expect(s.skipped).toEqual([]);
  });

  it('the stuck scanner process is killed (SIGKILL ends even a blocked read)', async () => {
    const { root } = fakeProc('x');
    const s = scanner({ root, timeoutMs: 300 });
    s.prestart();
    const pid = s.pid!;
    await expect(s.groupsWithEnv(RUN_MARKER_ENV, 'x')).rejects.toMatchObject({ code: 'PROC_SCAN_FAILED' });
    await waitFor(() => !isAlive(pid), 'the stuck scanner gone');
    expect(s.pid).toBeUndefined();
  });

  it('a scanner that cannot start fails the scan (retryable) instead of leaving it waiting', async () => {
    const s = scanner({ script: join(tmpdir(), 'vr-no-such-scanner.js') });
    await expect(s.groupsWithEnv(RUN_MARKER_ENV, 'x')).rejects.toMatchObject({ code: 'PROC_SCAN_FAILED', retryable: true });
    expect(s.busy).toBe(false);
  });
});

describe('a run whose end meets a stuck scan', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h?.cleanup();
    h = undefined;
    setSharedScanner(undefined);
  });

  it('still ends (done), with a warning that names the stuck process', async () => {
    const { root } = fakeProc('unused');
    setSharedScanner(new ProcScanner({ root, timeoutMs: 300 }));
    h = createHarness({ AGENT: 'ok', COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok') }) });
    await initVault(h.vault, { examples: false });
    h.drop('scanned', 'type: claude_code\nstatus: planned');
    await h.start();
    await waitFor(() => h!.find('scanned')?.folder === 'Done', 'the task done', 20_000);
    const warning = h.logLines().find((l) => l.task === 'scanned' && /could not look for processes the agent left behind/.test(String(l.msg)));
    expect(warning?.msg).toMatch(/process 200 is stuck/);
    expect(existsSync(root)).toBe(true);
  });
});
