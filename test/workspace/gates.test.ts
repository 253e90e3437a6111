// Setup and gates run as real processes: pass, fail, timeout (the whole process group killed),
// bounded output, a clean environment; a note can choose among gates, never add one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, isZombie } from '../../src/os/process.js';
import { WorkspaceError } from '../../src/workspace/errors.js';
import { fixPrompt, gatesSummary, runGates, selectGates } from '../../src/workspace/gates.js';
import { openWorkspace } from '../../src/workspace/open.js';
import { HeadTail, runCommand } from '../../src/workspace/run-command.js';
import { runSetup } from '../../src/workspace/setup.js';
import { sandbox, sh, type Sandbox } from './repo-fixture.js';

const node = process.execPath;
// Killed: gone, or a zombie waiting for a PID 1 that does not reap (as in some containers).
const gone = (pid: number) => !isAlive(pid) || isZombie(pid);
let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

describe('selectGates', () => {
  const defined = { test: ['npm', 'test'], lint: ['npm', 'run', 'lint'] };
  it('all defined gates without a choice; the chosen subset in the note’s order', () => {
    expect(selectGates(defined).map((g) => g.name)).toEqual(['test', 'lint']);
    expect(selectGates(defined, ['lint']).map((g) => g.name)).toEqual(['lint']);
    expect(selectGates(defined, [])).toEqual([]);
    expect(selectGates(defined, ['lint', 'test', 'lint'])).toEqual([
      { name: 'lint', argv: defined.lint },
      { name: 'test', argv: defined.test },
    ]);
  });
  it('a gate the operator did not define is a permanent GATE_UNKNOWN, never run', () => {
    let err: unknown;
    try {
      selectGates(defined, ['test', 'deploy', 'constructor']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WorkspaceError);
    expect((err as WorkspaceError).code).toBe('GATE_UNKNOWN');
    expect((err as WorkspaceError).transient).toBe(false);
    expect((err as WorkspaceError).message).toContain('"deploy", "constructor"');
  });
});

describe('runGates', () => {
  it('runs each gate in the worktree, reports exit codes, durations and output', async () => {
    const ws = await openWorkspace({ taskId: 'g', workingDir: sb.repo, mode: 'worktree', worktreesDir: sb.worktrees, vaultDir: sb.vault });
    const seen: string[] = [];
    const results = await runGates({
      cwd: ws.root,
      timeoutMs: 20_000,
      gates: selectGates({
        pass: [node, '-e', 'console.log("cwd=" + process.cwd()); console.log(require("fs").readFileSync("README.md","utf8").trim())'],
        fail: [node, '-e', 'console.error("2 tests failed"); process.exit(3)'],
        missing: ['/nonexistent/bin/gate'],
      }),
      onResult: (r) => seen.push(r.name),
    });
    expect(seen).toEqual(['pass', 'fail', 'missing']);
    const [pass, fail, missing] = results;
    expect(pass).toMatchObject({ name: 'pass', ok: true, exitCode: 0, timedOut: false });
    expect(pass!.outputTail).toBe(`cwd=${ws.root}\nhello\n`);
    expect(fail).toMatchObject({ ok: false, exitCode: 3 });
    expect(fail!.outputTail).toContain('2 tests failed');
    expect(missing).toMatchObject({ ok: false, exitCode: null });
    expect(missing!.spawnError).toContain('ENOENT');
    expect(pass!.durationMs).toBeGreaterThanOrEqual(0);
    expect(gatesSummary(results)).toBe('pass passed, fail failed (exit 3), missing failed (could not start: spawn /nonexistent/bin/gate ENOENT)');
    const prompt = fixPrompt([fail!], 1, 2);
    expect(prompt).toContain('The gate "fail"');
    expect(prompt).toContain('2 tests failed');
    expect(prompt).toContain('fix round 1 of 2');
  });

  it('stopOnFailure stops after the first failing gate', async () => {
    const r = await runGates({ cwd: sb.repo, timeoutMs: 20_000, stopOnFailure: true, gates: selectGates({ a: [node, '-e', 'process.exit(1)'], b: [node, '-e', ''] }) });
    expect(r.map((x) => x.name)).toEqual(['a']);
  });

  it('a timeout kills the whole process group, grandchildren included', async () => {
    const pidFile = join(sb.root, 'grandchild.pid');
    // The gate starts a grandchild that ignores SIGTERM, records its pid, then both hang.
    const script = `
      const { spawn } = require('child_process');
      const c = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      setInterval(() => {}, 1000);`;
    const r = await runCommand({ name: 'hang', argv: [node, '-e', script], cwd: sb.repo, timeoutMs: 1500, killGraceMs: 300 });
    expect(r).toMatchObject({ ok: false, timedOut: true });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(gone(pid)).toBe(true);
  });

  it('background jobs a passing gate leaves behind are ended with it', async () => {
    const pidFile = join(sb.root, 'bg.pid');
    const script = `
      const { spawn } = require('child_process');
      const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid));
      c.unref();`;
    const r = await runCommand({ name: 'bg', argv: [node, '-e', script], cwd: sb.repo, timeoutMs: 20_000 });
    expect(r.ok).toBe(true);
    expect(gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  it('keeps head and tail of a flood of output, bounded', async () => {
    const script = 'for (let i = 0; i < 20000; i++) console.log("line " + i)';
    const r = await runCommand({ name: 'flood', argv: [node, '-e', script], cwd: sb.repo, timeoutMs: 20_000, headBytes: 100, tailBytes: 200 });
    expect(r.ok).toBe(true);
    expect(r.outputTail.startsWith('line 0\nline 1\n')).toBe(true);
    expect(r.outputTail.endsWith('line 19999\n')).toBe(true);
    expect(r.outputTail).toMatch(/… \(\d+ bytes cut\) …/);
    expect(r.outputTail.length).toBeLessThan(400);
    expect(r.outputBytes).toBeGreaterThan(200_000);
  });

  it('the environment is clean: secrets of the service do not reach a gate; extras do', async () => {
    const r = await runCommand({
      name: 'env',
      argv: [node, '-e', 'console.log(JSON.stringify(process.env))'],
      cwd: sb.repo,
      timeoutMs: 20_000,
      baseEnv: { PATH: process.env.PATH, HOME: '/home/x', ANTHROPIC_API_KEY: 'sk-secret', GIT_DIR: '/elsewhere', NODE_OPTIONS: '--inspect' },
      env: { VAULTRUNNER_RUN: 'tok' },
    });
    const env = JSON.parse(r.outputTail) as Record<string, string>;
    expect(env.ANTHROPIC_API_KEY).toBeUndefined();
    expect(env.GIT_DIR).toBeUndefined();
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(env).toMatchObject({ HOME: '/home/x', CI: '1', VAULTRUNNER_RUN: 'tok' });
  });

  it('an abort signal stops a running gate', async () => {
    const ac = new AbortController();
    const p = runCommand({ name: 'long', argv: [node, '-e', 'console.log("up"); setInterval(() => {}, 1000)'], cwd: sb.repo, timeoutMs: 60_000, signal: ac.signal, onOutput: () => ac.abort() });
    const r = await p;
    expect(r.ok).toBe(false);
    expect(r.timedOut).toBe(false);
    expect(r.signal).toBe('SIGTERM');
  });

  it('HeadTail: exact when small, head + marker + tail when not', () => {
    const h = new HeadTail(4, 4);
    h.push(Buffer.from('ab'));
    expect(h.text()).toBe('ab');
    h.push(Buffer.from('cdefghijkl'));
    expect(h.text()).toBe('abcd\n… (4 bytes cut) …\nijkl');
    expect(h.total).toBe(12);
  });
});

describe('runSetup', () => {
  it('runs once in the worktree top folder; a resume skips it; a changed SETUP runs again; a failure is reported and not remembered', async () => {
    const ws = await openWorkspace({ taskId: 's', workingDir: join(sb.repo, 'src'), mode: 'worktree', worktreesDir: sb.worktrees, vaultDir: sb.vault });
    const log = join(sb.root, 'setup.log');
    const argv = [node, '-e', `require('fs').appendFileSync(${JSON.stringify(log)}, process.cwd() + '\\n')`];
    const first = await runSetup({ root: ws.root, argv, timeoutMs: 20_000 });
    expect(first.ran && first.result.ok).toBe(true);
    expect(await runSetup({ root: ws.root, argv, timeoutMs: 20_000 })).toEqual({ ran: false, reason: 'done-before' });
    expect(readFileSync(log, 'utf8')).toBe(`${ws.root}\n`);
    expect(sh(ws.root, 'status', '--porcelain')).toBe(''); // the marker is not in the files the agent sees

    const failing = [node, '-e', 'console.error("npm ERR! network"); process.exit(1)'];
    const f = await runSetup({ root: ws.root, argv: failing, timeoutMs: 20_000 });
    expect(f.ran && !f.result.ok && f.result.outputTail.includes('npm ERR! network')).toBe(true);
    const again = await runSetup({ root: ws.root, argv: failing, timeoutMs: 20_000 });
    expect(again.ran).toBe(true);
    expect(await runSetup({ root: ws.root, argv: [], timeoutMs: 1000 })).toEqual({ ran: false, reason: 'none' });
    expect(existsSync(join(ws.root, 'vaultrunner-setup-done'))).toBe(false);
    writeFileSync(join(sb.root, 'unused'), '');
  });
});
