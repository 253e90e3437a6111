// An agent's stdout/stderr into files the service owns (not pipes), followed as they grow; and a
// finished claude run's outcome read back from such a file after a restart.
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recoverClaudeOutcome } from '../../src/agents/claude/claude-agent.js';
import { spawnProcess } from '../../src/agents/process/index.js';
import { FileFollower } from '../../src/agents/process/output-files.js';
import { createCodexAgent } from '../../src/agents/codex/codex-agent.js';
import { createGeminiAgent } from '../../src/agents/gemini/gemini-agent.js';
import { createOpencodeAgent } from '../../src/agents/opencode/opencode-agent.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const node = (code: string) => ({ program: process.execPath, args: ['-e', code] });

describe('spawnProcess with outputFiles', () => {
  it('delivers every stdout and stderr line in order while the child runs, and leaves the whole output in the files', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-out-'));
    const files = { stdout: join(dir, 'run.out'), stderr: join(dir, 'run.err') };
    const out: string[] = [];
    const err: string[] = [];
    let seenBeforeExit = 0;
    // 20,000 lines (~1.2 MB) in bursts, then a line on stderr; stdin is echoed first.
    const h = spawnProcess({
      ...node(`process.stdin.once('data', (d) => { process.stdout.write('stdin:' + d); let i = 0; const burst = () => { let s = ''; for (let k = 0; k < 1000; k++) s += 'line ' + (i++) + ' ' + 'x'.repeat(50) + '\\n'; process.stdout.write(s); if (i < 20000) setTimeout(burst, 5); else { process.stderr.write('done on stderr\\n'); } }; burst(); });`),
      cwd: dir,
      stdin: 'hello\n',
      env: { PATH: process.env.PATH },
      outputFiles: files,
      onStdoutLine: ({ line }) => {
        out.push(line);
        if (!h.control.exited) seenBeforeExit++;
      },
      onStderrLine: ({ line }) => err.push(line),
    });
    const exit = await h.exit;
    expect(exit.exitCode).toBe(0);
    expect(out[0]).toBe('stdin:hello');
    expect(out.length).toBe(20_001);
    for (let i = 0; i < 20_000; i++) if (!out[i + 1]!.startsWith(`line ${i} `)) throw new Error(`line ${i} out of order: ${out[i + 1]}`);
    expect(seenBeforeExit).toBeGreaterThan(0); // followed live, not read once at the end
    expect(err).toEqual(['done on stderr']);
    expect(readFileSync(files.stdout, 'utf8').split('\n').length - 1).toBe(20_001);
    expect(statSync(files.stdout).mode & 0o777).toBe(0o600);
  });

  it('lets the event loop run while it drains a large file (a flood must not hold back timeouts)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-out-'));
    const path = join(dir, 'flood.out');
    const total = 8 * 1024 * 1024;
    writeFileSync(path, Buffer.alloc(total, 'x'));
    let read = 0;
    const follower = new FileFollower(path, (chunk) => (read += chunk.length));
    let readWhenLoopRan = -1;
    setImmediate(() => (readWhenLoopRan = read));
    await follower.finish();
    expect(read).toBe(total);
    // The loop got a turn part-way through (not only once the whole file was read).
    expect(readWhenLoopRan).toBeGreaterThan(0);
    expect(readWhenLoopRan).toBeLessThan(total);
  });

  it('never writes through a planted link: the run does not start and the link target is untouched', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-out-'));
    const target = join(dir, 'authorized_keys');
    writeFileSync(target, 'ssh-ed25519 AAAA person\n');
    symlinkSync(target, join(dir, 'run.out'));
    const h = spawnProcess({ ...node('console.log("evil")'), cwd: dir, stdin: '', env: { PATH: process.env.PATH }, outputFiles: { stdout: join(dir, 'run.out'), stderr: join(dir, 'run.err') }, onStdoutLine: () => {} });
    const exit = await h.exit;
    expect(h.pid).toBe(0);
    expect(exit.spawnError?.message).toMatch(/symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('ssh-ed25519 AAAA person\n');
  });
});

describe('recoverClaudeOutcome', () => {
  const init = '{"type":"system","subtype":"init","session_id":"sess-1","model":"m","cwd":"/w","tools":[]}';
  it('reads a success with its session, cost and final text', () => {
    const o = recoverClaudeOutcome('claude', `${init}\n{"type":"result","subtype":"success","is_error":false,"result":"All done.","session_id":"sess-1","total_cost_usd":0.25,"num_turns":2}\n`);
    expect(o).toMatchObject({ ok: true, sessionId: 'sess-1', costUsd: 0.25, result: 'All done.' });
  });

  it('reads an API error as a failure, retryable by its status', () => {
    const o = recoverClaudeOutcome('claude', `${init}\n{"type":"result","subtype":"error_during_execution","is_error":true,"api_error_status":503,"result":"overloaded","session_id":"sess-1"}\n`);
    expect(o?.ok).toBe(false);
    expect(o && !o.ok && o.error.retryable).toBe(true);
  });

  it('finds nothing in a run cut off before its result', () => {
    expect(recoverClaudeOutcome('claude', `${init}\n{"type":"assistant","message":{"content":[{"type":"text","text":"working"}]}}\n{"type":"res`)).toBeUndefined();
  });
});

describe('recoverOutcome of codex, gemini and opencode', () => {
  const adapters = { codex: createCodexAgent({ bin: 'codex', stateDir: '/nonexistent' }), gemini: createGeminiAgent({ bin: 'gemini', stateDir: '/nonexistent' }), opencode: createOpencodeAgent({ bin: 'opencode', stateDir: '/nonexistent' }) };
  const recover = (name: keyof typeof adapters, lines: string[]) => adapters[name].recoverOutcome!(lines.join('\n'));

  it('takes a run that reported its own successful end, and nothing else', () => {
    const codex = ['{"type":"thread.started","thread_id":"th-1"}', '{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"done"}}', '{"type":"turn.completed","usage":{"input_tokens":2,"cached_input_tokens":0,"output_tokens":1}}'];
    expect(recover('codex', codex)).toMatchObject({ ok: true, sessionId: 'th-1', result: 'done' });
    expect(recover('codex', codex.slice(0, 2))).toBeUndefined(); // cut off before turn.completed

    const gemini = ['{"type":"init","session_id":"g-1","model":"m"}', '{"type":"message","role":"assistant","content":"ok","delta":true}', '{"type":"result","status":"success","stats":{"input_tokens":2,"output_tokens":1,"cached":0}}'];
    expect(recover('gemini', gemini)).toMatchObject({ ok: true, sessionId: 'g-1' });
    expect(recover('gemini', [gemini[0]!, '{"type":"result","status":"error","error":{"type":"x","message":"boom"}}'])).toBeUndefined(); // failures are retried, not recovered

    const opencode = ['{"type":"text","sessionID":"ses_1","part":{"type":"text","text":"done"}}', '{"type":"step_finish","sessionID":"ses_1","part":{"reason":"stop","tokens":{"input":1,"output":1,"cache":{"read":0}},"cost":0.01}}'];
    expect(recover('opencode', opencode)).toMatchObject({ ok: true, sessionId: 'ses_1', result: 'done' });
    expect(recover('opencode', opencode.slice(0, 1))).toBeUndefined(); // no finished step
  });
});
