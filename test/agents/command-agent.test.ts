import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent, AgentFailure, AgentRunRequest } from '../../src/agents/agent.js';
import { createCommandAgent, resolveExecutable } from '../../src/agents/command-agent.js';
import { isZombie } from '../../src/os/process.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'agents');
const agent = (script: string) => createCommandAgent({ name: 'fixture', argv: [process.execPath, join(FIXTURES, script)] });

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'vr-command-agent-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

function request(over: Partial<AgentRunRequest> = {}) {
  const events: AgentEvent[] = [];
  const raw: string[] = [];
  const req: AgentRunRequest = {
    taskId: 'task-1',
    attempt: 2,
    prompt: 'Fix the bug in parser.ts\nSecond line of the task\n',
    cwd,
    permissionMode: 'default',
    env: { PATH: process.env.PATH },
    onEvent: (e) => events.push(e),
    onRawLine: (l) => raw.push(l),
    ...over,
  };
  const texts = () => events.flatMap((e) => (e.kind === 'text' ? [e.text] : []));
  return { req, events, raw, texts };
}

/** Resolves with the first event matching `pred` (polling: events arrive from the child's stdout). */
async function waitFor<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Gone, or a zombie waiting for a reaper we do not control (PID 1 here may not reap). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return isZombie(pid);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const failure = (o: unknown) => o as AgentFailure;

describe('command agent', () => {
  it('runs the command with the prompt on stdin, in cwd, and streams its lines as events', async () => {
    const a = agent('ok.mjs');
    expect(a.kind).toBe('command');
    expect(a.name).toBe('fixture');
    const { req, raw, texts } = request();
    const run = a.start(req);
    expect(run.pid).toBeGreaterThan(0);
    const o = await run.outcome;
    expect(o).toMatchObject({ ok: true, exitCode: 0, permissionDenials: [] });
    expect(await readFile(join(cwd, 'RESULT.md'), 'utf8')).toBe('Fix the bug in parser.ts\n');
    expect(texts()).toEqual([
      'ok: task task-1 attempt 2',
      `prompt-bytes ${Buffer.byteLength(req.prompt)}`,
      `prompt-sha256 ${createHash('sha256').update(req.prompt).digest('hex')}`,
      'claudecode unset',
      'resume none',
      'ok: wrote RESULT.md',
    ]);
    expect(raw).toEqual(texts());
  });

  it('runs a fixture directly through its shebang, and a relative program path resolves from the service cwd', async () => {
    const direct = createCommandAgent({ name: 'direct', argv: [join(FIXTURES, 'ok.mjs')] });
    expect((await direct.start(request().req).outcome).ok).toBe(true);
    const relative = createCommandAgent({ name: 'rel', argv: ['./test/fixtures/agents/ok.mjs'] });
    expect((await relative.start(request().req).outcome).ok).toBe(true);
  });

  it('reports the session id and result from protocol lines, and passes the session to resume', async () => {
    const { req, events, texts } = request({ resumeSessionId: 'sess-prev' });
    const o = await agent('session.mjs').start(req).outcome;
    expect(events[0]).toEqual({ kind: 'init', sessionId: 'fixture-session-1', cwd });
    expect(events).toContainEqual({ kind: 'other', type: 'result' });
    expect(texts()).toContain('resume sess-prev');
    expect(texts().some((t) => t.includes('"vaultrunner"'))).toBe(false);
    expect(o).toMatchObject({ ok: true, sessionId: 'fixture-session-1', costUsd: 0.01, result: 'fixture done' });
  });

  it('a non-zero exit is AGENT_FAILED, retryable, with the last stderr line', async () => {
    const { req, events } = request();
    const o = failure(await agent('fail.mjs').start(req).outcome);
    expect(o.ok).toBe(false);
    expect(o.exitCode).toBe(3);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(true);
    expect(o.error.message).toBe('exited with code 3: fail: the fixture failed on purpose');
    expect(events.filter((e) => e.kind === 'stderr')).toEqual([
      { kind: 'stderr', text: 'fail: first problem' },
      { kind: 'stderr', text: 'fail: the fixture failed on purpose' },
    ]);
  });

  it('a missing program is AGENT_NOT_FOUND, not retryable', async () => {
    for (const argv of [['/nonexistent/agent-bin'], ['vaultrunner-no-such-command-xyz', '--flag']]) {
      const run = createCommandAgent({ name: 'missing', argv }).start(request().req);
      const o = failure(await run.outcome);
      expect(o.error.code).toBe('AGENT_NOT_FOUND');
      expect(o.error.retryable).toBe(false);
      await run.stop('cancel', 100); // nothing to stop; must not signal anything
    }
  });

  it('a missing working directory is reported as such', async () => {
    const o = failure(await agent('ok.mjs').start(request({ cwd: join(cwd, 'nope') }).req).outcome);
    expect(o.error.code).toBe('WORKSPACE_DENIED');
  });

  it("stop('timeout') ends the whole process group: AGENT_TIMEOUT, grandchild gone too", async () => {
    const { req, texts } = request();
    const run = agent('hang.mjs').start(req);
    const grandchild = await waitFor(() => texts().find((t) => t.startsWith('grandchild ')));
    const gpid = Number(grandchild.split(' ')[1]);
    expect(gone(gpid)).toBe(false);
    const t0 = Date.now();
    await run.stop('timeout', 300);
    // Grace, then SIGKILL and terminateGroup's bounded wait (slower where PID 1 reaps zombies late).
    expect(Date.now() - t0).toBeLessThan(4000);
    const o = failure(await run.outcome);
    expect(o.error.code).toBe('AGENT_TIMEOUT');
    expect(o.error.message).toContain('timeout');
    expect(o.error.retryable).toBe(true);
    await waitFor(() => (gone(gpid) ? true : undefined), 2000);
    expect(gone(run.pid)).toBe(true);
  });

  it("stop('cancel') is AGENT_STOPPED and not retryable", async () => {
    const { req, texts } = request();
    const run = agent('hang.mjs').start(req);
    await waitFor(() => texts().find((t) => t.startsWith('grandchild ')));
    await run.stop('cancel', 300);
    const o = failure(await run.outcome);
    expect(o.error.code).toBe('AGENT_STOPPED');
    expect(o.error.retryable).toBe(false);
  });

  it('a child that ignores SIGTERM is killed after the grace period', async () => {
    const { req, texts } = request();
    const run = agent('ignore-term.mjs').start(req);
    await waitFor(() => (texts().includes('ready') ? true : undefined));
    const t0 = Date.now();
    await run.stop('shutdown', 400);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(3000);
    const o = failure(await run.outcome);
    expect(o.error.code).toBe('AGENT_STOPPED');
    expect(o.signal).toBe('SIGKILL');
    expect(texts()).toContain('ignoring SIGTERM');
    expect(gone(run.pid)).toBe(true);
  });

  it('200 MB of output (lines and one endless line) streams through in bounded memory', async () => {
    let events = 0;
    let longest = 0;
    let cut = '';
    const { req } = request({
      env: { PATH: process.env.PATH, NOISY_MB: '200' },
      onEvent: (e) => {
        events++;
        if (e.kind === 'text' && e.text.includes('more bytes cut')) cut = e.text.slice(-40);
      },
      onRawLine: (l) => {
        longest = Math.max(longest, l.length);
      },
    });
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const o = await agent('noisy.mjs').start(req).outcome;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(o.ok).toBe(true);
    expect(events).toBeGreaterThan(100_000); // 100 MB of 1000-char lines
    expect(longest).toBeLessThanOrEqual(64 * 1024);
    expect(cut).toMatch(/… \(\d+ more bytes cut\)$/);
    expect(peak - before).toBeLessThan(100 * 1024 * 1024);
  }, 60_000);

  it('the child never sees CLAUDECODE, even when our own environment has it', async () => {
    const saved = process.env.CLAUDECODE;
    process.env.CLAUDECODE = '1';
    try {
      const { req, texts } = request({ env: process.env });
      expect((await agent('ok.mjs').start(req).outcome).ok).toBe(true);
      expect(texts()).toContain('claudecode unset');
    } finally {
      if (saved === undefined) delete process.env.CLAUDECODE;
      else process.env.CLAUDECODE = saved;
    }
  });

  it('a 1 MB prompt arrives whole', async () => {
    const prompt = `First line\n${'0123456789abcdef'.repeat(64 * 1024)}\nlast line ✓\n`;
    const { req, texts } = request({ prompt });
    expect((await agent('ok.mjs').start(req).outcome).ok).toBe(true);
    expect(texts()).toContain(`prompt-bytes ${Buffer.byteLength(prompt)}`);
    expect(texts()).toContain(`prompt-sha256 ${createHash('sha256').update(prompt).digest('hex')}`);
    expect(await readFile(join(cwd, 'RESULT.md'), 'utf8')).toBe('First line\n');
  });

  it('a child that exits without reading a large prompt still counts by its exit code', async () => {
    const o = failure(await agent('fail.mjs').start(request({ prompt: 'x'.repeat(2 * 1024 * 1024) }).req).outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.exitCode).toBe(3);
  });

  it('probe checks the program resolves, without running it', async () => {
    const marker = join(cwd, 'ran');
    const script = join(cwd, 'agent.sh');
    await writeFile(script, `#!/bin/sh\ntouch ${marker}\n`);
    await chmod(script, 0o644);
    expect((await createCommandAgent({ name: 'x', argv: [script] }).probe()).ok).toBe(false); // not executable
    await chmod(script, 0o755);
    const ok = await createCommandAgent({ name: 'x', argv: [script] }).probe();
    expect(ok).toMatchObject({ ok: true });
    expect(ok.detail).toContain(script);
    expect((await createCommandAgent({ name: 'x', argv: ['node', join(FIXTURES, 'ok.mjs')] }).probe()).ok).toBe(true);
    const missing = await createCommandAgent({ name: 'x', argv: ['vaultrunner-no-such-command-xyz'] }).probe();
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain('not found on PATH');
    expect((await createCommandAgent({ name: 'x', argv: ['/nonexistent/bin'] }).probe()).ok).toBe(false);
    expect((await createCommandAgent({ name: 'x', argv: [process.execPath, join(cwd, 'missing.mjs')] }).probe()).ok).toBe(false);
    expect((await createCommandAgent({ name: 'x', argv: [cwd] }).probe()).ok).toBe(false); // a directory
    expect(existsSync(marker)).toBe(false);
    expect(resolveExecutable('sh', '/nonexistent:/bin:/usr/bin')).toMatchObject({ path: expect.stringMatching(/\/sh$/) });
  });

  it('runs the bundled demo agent: friendly lines, a summary file, exit 0', async () => {
    const demo = createCommandAgent({ name: 'demo', argv: [process.execPath, join(import.meta.dirname, '..', '..', 'scripts', 'demo-agent.mjs')] });
    expect((await demo.probe()).ok).toBe(true);
    const { req, texts } = request({ taskId: 'write-docs' });
    const t0 = Date.now();
    const o = await demo.start(req).outcome;
    expect(o.ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(texts()[0]).toBe('demo agent: read 2-line prompt for task write-docs (attempt 2)');
    expect(await readFile(join(cwd, 'vaultrunner-demo-write-docs.md'), 'utf8')).toContain('first line: Fix the bug in parser.ts');
  });
});
