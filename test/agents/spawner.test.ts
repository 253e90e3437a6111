// File-backed runs forked by the small spawner process instead of the service: the same facts as a
// direct spawn (exit code, signal, stdin, env, spawn errors, process groups), and runs that still
// end properly when the spawner cannot start or dies.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync } from 'node:fs';
import type { AgentRun } from '../../src/agents/agent.js';
import { createClaudeAgent } from '../../src/agents/claude/claude-agent.js';
import { createCommandAgent } from '../../src/agents/command-agent.js';
import { isNotFound, setSharedSpawner, sharedSpawner, spawnProcess, SpawnerClient, type SpawnOptions } from '../../src/agents/process/index.js';
import { isAlive, isZombie } from '../../src/os/process.js';

let dir: string;
const clients: SpawnerClient[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vr-spawner-'));
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = (opts: ConstructorParameters<typeof SpawnerClient>[0] = {}) => {
  const c = new SpawnerClient(opts);
  clients.push(c);
  return c;
};
const files = (name = 'run') => ({ stdout: join(dir, `${name}.out`), stderr: join(dir, `${name}.err`) });
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', VR_TEST: 'spawner' };

function run(code: string, over: Partial<SpawnOptions> = {}) {
  const lines: string[] = [];
  const h = spawnProcess({ program: process.execPath, args: ['-e', code], cwd: dir, stdin: '', env: ENV, outputFiles: files(), onStdoutLine: ({ line }) => lines.push(line), ...over });
  return { h, lines };
}

/** Parent pid (Linux /proc): who forked the child. */
const ppid = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};
const gone = (pid: number) => !isAlive(pid) || isZombie(pid);

async function until(what: string, fact: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fact()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('spawner process', () => {
  it('forks the child (not the service), and brings back its exit code; its output lands in the files', async () => {
    const sp = client();
    let parent = 0;
    const { h, lines } = run(`console.log('out'); console.error('err'); setTimeout(() => process.exit(7), 50)`, {
      spawner: sp,
      onStdoutLine: ({ line }) => {
        lines.push(line);
        parent = ppid(h.pid);
      },
    });
    expect(h.pid).toBe(0); // known only with the spawner's answer
    const pid = await h.spawned;
    expect(pid).toBeGreaterThan(0);
    const exit = await h.exit;
    expect(exit).toEqual({ exitCode: 7 });
    expect(parent).toBe(sp.pid);
    expect(parent).not.toBe(process.pid);
    expect(lines).toEqual(['out']);
    expect(readFileSync(files().stdout, 'utf8')).toBe('out\n');
    expect(readFileSync(files().stderr, 'utf8')).toBe('err\n');
  });

  it('prestart() starts the spawner before any run, and the first run is forked by that one', async () => {
    const sp = client();
    expect(sp.pid).toBeUndefined(); // lazy by default
    sp.prestart();
    const early = sp.pid!;
    expect(early).toBeGreaterThan(0);
    await until('the spawner to show its name', () => existsSync(`/proc/${early}/comm`) && readFileSync(`/proc/${early}/cmdline`, 'utf8').startsWith('vaultrunner-spawner'));
    sp.prestart(); // a second call starts no second spawner
    expect(sp.pid).toBe(early);
    let parent = 0;
    const { h } = run(`console.log('x'); setTimeout(() => {}, 50)`, { spawner: sp, onStdoutLine: () => (parent = ppid(h.pid)) });
    expect(await h.exit).toEqual({ exitCode: 0 });
    expect(parent).toBe(early);
  });

  it('brings back the signal that ended the child', async () => {
    const { h } = run(`process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000)`, { spawner: client() });
    expect(await h.exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('delivers a large prompt on stdin whole, then closes it', async () => {
    const prompt = Array.from({ length: 60_000 }, (_, i) => `line ${i} of the prompt: ${'é'.repeat(30)}`).join('\n');
    const { h, lines } = run(`const h = require('crypto').createHash('sha256'); let n = 0; process.stdin.on('data', (d) => { n += d.length; h.update(d); }); process.stdin.on('end', () => console.log(n + ' ' + h.digest('hex')));`, { spawner: client(), stdin: prompt });
    expect((await h.exit).exitCode).toBe(0);
    expect(lines).toEqual([`${Buffer.byteLength(prompt)} ${createHash('sha256').update(prompt).digest('hex')}`]);
    expect(Buffer.byteLength(prompt)).toBeGreaterThan(4_000_000);
  });

  it('the child reads its whole prompt even when the spawner dies before it reads a byte; no prompt file is left behind', async () => {
    // 4 MB: a pipe holds 64 KB, so with one the spawner's death would cut the prompt short.
    const prompt = Array.from({ length: 100_000 }, (_, i) => `prompt line ${i} ${'x'.repeat(30)}`).join('\n');
    const go = join(dir, 'go');
    const sp = client();
    const { h, lines } = run(
      `const fs = require('fs'); console.log('up'); const t = setInterval(() => { if (!fs.existsSync(${JSON.stringify(go)})) return; clearInterval(t); const h = require('crypto').createHash('sha256'); let n = 0; process.stdin.on('data', (d) => { n += d.length; h.update(d); }); process.stdin.on('end', () => console.log(n + ' ' + h.digest('hex'))); }, 20)`,
      { spawner: sp, stdin: prompt },
    );
    await h.spawned;
    await until('the agent to be up', () => lines.includes('up'));
    expect(readdirSync(dir).sort()).toEqual(['run.err', 'run.out']);
    const spawnerPid = sp.pid!;
    process.kill(spawnerPid, 'SIGKILL');
    await until('the spawner to be gone', () => gone(spawnerPid));
    writeFileSync(go, '');
    await h.exit;
    expect(lines).toEqual(['up', `${Buffer.byteLength(prompt)} ${createHash('sha256').update(prompt).digest('hex')}`]);
  });

  it('a stale or planted file where the prompt goes is replaced, never written through', async () => {
    writeFileSync(join(dir, 'target'), 'keep\n');
    symlinkSync(join(dir, 'target'), join(dir, 'run.in'));
    const { h, lines } = run(`let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => console.log(JSON.stringify(s)))`, { spawner: client(), stdin: 'the prompt' });
    expect((await h.exit).exitCode).toBe(0);
    expect(lines).toEqual(['"the prompt"']);
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('keep\n');
    expect(readdirSync(dir).sort()).toEqual(['run.err', 'run.out', 'target']);
  });

  it('gives the child exactly our env, nothing of the spawner\'s or the service\'s', async () => {
    const { h, lines } = run(`console.log(JSON.stringify(process.env))`, { spawner: client() });
    expect((await h.exit).exitCode).toBe(0);
    expect(JSON.parse(lines.join(''))).toEqual(ENV);
  });

  it('reports a missing program as ENOENT (a permanent "not found")', async () => {
    const { h } = run('', { spawner: client(), program: join(dir, 'no-such-agent'), args: [] });
    const exit = await h.exit;
    expect(h.pid).toBe(0);
    expect(exit.exitCode).toBeNull();
    expect(exit.spawnError?.code).toBe('ENOENT');
    expect(isNotFound(exit.spawnError)).toBe(true);
  });

  it('never writes through a planted link (same open flags as the service)', async () => {
    writeFileSync(join(dir, 'target'), 'keep\n');
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(dir, 'target'), files().stdout);
    const { h } = run(`console.log('evil')`, { spawner: client() });
    const exit = await h.exit;
    expect(exit.spawnError?.code).toBe('ELOOP');
    expect(isNotFound(exit.spawnError)).toBe(false);
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('keep\n');
  });

  it('stop() ends the whole process group from the service, a grandchild too', async () => {
    const { h, lines } = run(`const c = require('child_process').spawn('sleep', ['60'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)`, { spawner: client() });
    const agentRun = h.control.run(h.exit.then(() => ({ ok: true as const, permissionDenials: [], exitCode: 0 })), 'test');
    await until('the grandchild pid', () => lines.length > 0);
    const grandchild = Number(lines[0]);
    expect(isAlive(grandchild)).toBe(true);
    await agentRun.stop('cancel', 2000);
    const exit = await h.exit;
    expect(exit.stopReason).toBe('cancel');
    expect(exit.signal).toBe('SIGTERM');
    await until('the grandchild to be gone', () => gone(grandchild));
  });

  it('a stop() that comes before the spawner answered still ends the group once its pid is known', async () => {
    const { h } = run(`setInterval(() => {}, 1000)`, { spawner: client() });
    const agentRun = h.control.run(h.exit.then(() => ({ ok: true as const, permissionDenials: [], exitCode: 0 })), 'test');
    await agentRun.stop('timeout', 2000);
    const exit = await h.exit;
    expect(exit.stopReason).toBe('timeout');
    expect(gone(await h.spawned)).toBe(true);
  });

  it('a run whose spawner is killed mid-run still ends, as a retryable failure; the next run is spawned directly', async () => {
    const go = join(dir, 'go');
    const agent = createCommandAgent({ name: 'waiter', argv: [process.execPath, '-e', `console.log('up'); const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(go)})) { clearInterval(t); console.log('done'); } }, 20)`] });
    const raw: string[] = [];
    const agentRun = agent.start({ taskId: 't', attempt: 1, prompt: '', cwd: dir, permissionMode: 'default', env: ENV, outputFiles: files(), onRawLine: (l) => raw.push(l) });
    await agentRun.spawned;
    const shared = sharedSpawner();
    const spawnerPid = shared.pid!;
    expect(ppid(agentRun.pid)).toBe(spawnerPid);
    await until('the agent to be up', () => raw.includes('up'));
    process.kill(spawnerPid, 'SIGKILL');
    await until('the spawner to be gone', () => gone(spawnerPid));
    writeFileSync(go, '');
    const outcome = await agentRun.outcome;
    expect(raw).toEqual(['up', 'done']); // its whole output still read from the files
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.exitCode).toBeNull();
      expect(outcome.error.retryable).toBe(true);
      expect(outcome.error.message).toContain('the spawner process ended while this agent ran');
    }
    // The next run does not wait for a new spawner: it is forked directly, and works.
    const { h, lines } = run(`console.log('next')`, { outputFiles: files('next') });
    const pid = await h.spawned;
    expect(ppid(pid)).toBe(process.pid);
    expect((await h.exit).exitCode).toBe(0);
    expect(lines).toEqual(['next']);
    expect(shared.pid).toBeUndefined();
  });

  it('starts a new spawner for the next run once the retry time has passed', async () => {
    const sp = client({ retryMs: 0 });
    const first = run(`console.log(1)`, { spawner: sp });
    expect((await first.h.exit).exitCode).toBe(0);
    const old = sp.pid!;
    process.kill(old, 'SIGKILL');
    await until('the client to notice', () => sp.pid === undefined);
    let parent = 0;
    const second = run(`setTimeout(() => {}, 100)`, { spawner: sp, outputFiles: files('second') });
    parent = ppid(await second.h.spawned);
    expect((await second.h.exit).exitCode).toBe(0);
    expect(sp.pid).toBeGreaterThan(0);
    expect(sp.pid).not.toBe(old);
    expect(parent).toBe(sp.pid);
  });

  it('a spawner that cannot start: the runs waiting for it are spawned directly', async () => {
    const sp = client({ script: join(dir, 'missing-spawner.js') });
    const a = run(`console.log('a')`, { spawner: sp, outputFiles: files('a') });
    const b = run(`process.exit(3)`, { spawner: sp, outputFiles: files('b') });
    expect(ppid(await a.h.spawned)).toBe(process.pid);
    expect((await a.h.exit).exitCode).toBe(0);
    expect(a.lines).toEqual(['a']);
    expect((await b.h.exit).exitCode).toBe(3);
  });

  it('a stuck spawner (never answers) is killed after answerMs; the waiting run is spawned directly', async () => {
    const script = join(dir, 'stuck-spawner.js');
    writeFileSync(script, `process.on('message', () => {}); setInterval(() => {}, 1000);`);
    const sp = client({ script, answerMs: 300 });
    const { h, lines } = run(`console.log('ran')`, { spawner: sp });
    const stuckPid = sp.pid!;
    expect(stuckPid).toBeGreaterThan(0);
    const pid = await h.spawned;
    expect(ppid(pid)).toBe(process.pid);
    expect((await h.exit).exitCode).toBe(0);
    expect(lines).toEqual(['ran']);
    await until('the stuck spawner to be gone', () => gone(stuckPid));
  });

  it('exits when the service lets it go (close), leaving a running agent alone in its own group', async () => {
    const sp = client();
    const { h } = run(`setInterval(() => {}, 1000)`, { spawner: sp });
    const pid = await h.spawned;
    const spawnerPid = sp.pid!;
    sp.close();
    await until('the spawner to exit', () => gone(spawnerPid));
    expect(isAlive(pid)).toBe(true);
    process.kill(-pid, 'SIGKILL');
    expect(await h.exit).toEqual({ exitCode: null, lost: true }); // seen by pid once the spawner was gone
    expect(existsSync(files().stdout)).toBe(true);
  });
});

describe('a claude run whose spawner died is judged like a run adopted after a crash', () => {
  const init = '{"type":"system","subtype":"init","session_id":"sess-lost","model":"m","cwd":"/w","tools":[]}';
  const results = {
    success: '{"type":"result","subtype":"success","is_error":false,"result":"All done.","session_id":"sess-lost","total_cost_usd":0.1,"num_turns":1}',
    apiError: '{"type":"result","subtype":"error_during_execution","is_error":true,"api_error_status":503,"result":"overloaded","session_id":"sess-lost"}',
    none: '',
  };

  /** A stand-in claude binary: prints init, waits for `go`, prints `result` (if any), exits 0. */
  function fakeClaude(result: string): string {
    const bin = join(dir, 'claude');
    const go = join(dir, 'go');
    writeFileSync(bin, `#!${process.execPath}\nconsole.log(${JSON.stringify(init)}); const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(go)})) { clearInterval(t); if (${JSON.stringify(result)}) console.log(${JSON.stringify(result)}); } }, 20);\n`);
    chmodSync(bin, 0o755);
    return bin;
  }

  async function loseSpawner(result: string) {
    setSharedSpawner(client({ retryMs: 0 }));
    const raw: string[] = [];
    const agentRun: AgentRun = createClaudeAgent({ bin: fakeClaude(result) }).start({ taskId: 't', attempt: 1, prompt: 'p', cwd: dir, permissionMode: 'default', env: ENV, outputFiles: files(), onRawLine: (l) => raw.push(l) });
    await agentRun.spawned;
    const spawnerPid = sharedSpawner().pid!;
    expect(ppid(agentRun.pid)).toBe(spawnerPid);
    await until('init', () => raw.length > 0);
    process.kill(spawnerPid, 'SIGKILL');
    await until('the spawner to be gone', () => gone(spawnerPid));
    writeFileSync(join(dir, 'go'), '');
    return agentRun.outcome;
  }

  it('takes a success its output proves', async () => {
    const o = await loseSpawner(results.success);
    expect(o).toMatchObject({ ok: true, sessionId: 'sess-lost', result: 'All done.' });
  });

  it('keeps a reported failure a failure, retryable by its status', async () => {
    const o = await loseSpawner(results.apiError);
    expect(o.ok).toBe(false);
    if (!o.ok) expect(o.error.retryable).toBe(true);
  });

  it('a run cut off before its result: a retryable failure that says why', async () => {
    const o = await loseSpawner(results.none);
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.error.retryable).toBe(true);
      expect(o.error.message).toContain('the spawner process ended while this agent ran');
    }
  });
});
