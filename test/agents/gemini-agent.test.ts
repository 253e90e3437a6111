// Drives the REAL gemini CLI (node_modules/.bin/gemini) against our scripted Gemini-API server.
// Resuming a session (`--resume`) is checked through the service, in
// test/engine/agents-e2e.test.ts (paused mid-run, then resumed): one pair of CLI runs, not two.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGeminiAgent } from '../../src/agents/gemini/gemini-agent.js';
import { fail, geminiWire, hangs, say, startScriptedServer, write, type ScriptedServer } from '../fixtures/scripted-server.js';
import { binPath, cleanEnv, failed, groupGone, ok, startRun, tempDirs, until, type Dirs } from './cli-test-kit.js';

const T = 120_000;
let server: ScriptedServer;
let dirs: Dirs;

beforeEach(async () => {
  server = await startScriptedServer(geminiWire);
  dirs = tempDirs('gemini');
});
afterEach(async () => {
  await server.close();
  dirs.cleanup();
});

const stateDir = () => join(dirs.state, 'agents', 'gemini');
const agent = () => createGeminiAgent({ bin: binPath('gemini'), stateDir: stateDir(), maxAttempts: 1, model: 'gemini-test' });
const env = (extra: NodeJS.ProcessEnv = {}) => cleanEnv({ GOOGLE_GEMINI_BASE_URL: server.url, GEMINI_API_KEY: 'test-key', ...extra });

describe('gemini agent (real CLI)', () => {
  it('writes a file through write_file and succeeds, with session id and tokens', { timeout: T }, async () => {
    const file = join(dirs.cwd, 'hello.txt');
    server.script((req) => (req.afterTool ? say('wrote it') : write(file, 'hi from gemini')));
    const { run, events } = startRun(agent(), { prompt: 'write hello.txt', cwd: dirs.cwd, permissionMode: 'acceptEdits', env: env() });
    const o = ok(await run.outcome);
    expect(readFileSync(file, 'utf8')).toBe('hi from gemini');
    expect(o.result).toBe('wrote it');
    expect(o.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(o.tokens?.input).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'init')).toEqual([{ kind: 'init', sessionId: o.sessionId, model: 'gemini-test' }]);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_use', name: 'write_file', input: { file_path: file, content: 'hi from gemini' } }));
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_result', isError: false }));
    expect(events).toContainEqual({ kind: 'text', text: 'wrote it' });
    expect(server.turns()[0]!.text).toContain('write hello.txt');
    expect(server.turns()[0]!.path).toBe('/v1beta/models/gemini-test:streamGenerateContent?alt=sse');
    // our own home: the settings we wrote, and the session stored under it
    expect(JSON.parse(readFileSync(join(stateDir(), '.gemini', 'settings.json'), 'utf8')).security.auth.selectedType).toBe('gemini-api-key');
    expect(readdirSync(join(stateDir(), '.gemini')).length).toBeGreaterThan(1);
  });

  it('default mode offers no write tool: nothing is written', { timeout: T }, async () => {
    const file = join(dirs.cwd, 'nope.txt');
    server.script((req) => (req.afterTool ? say('could not') : write(file, 'x')));
    await startRun(agent(), { prompt: 'try', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome;
    expect(existsSync(file)).toBe(false);
    const tools = JSON.stringify(server.turns()[0]!.body.tools ?? []);
    expect(tools).not.toContain('"write_file"');
  });

  it('HTTP 400 → AGENT_FAILED, permanent, after one request', { timeout: T }, async () => {
    server.script(() => fail(400));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(false);
    expect(o.error.message).toContain('400');
    expect(server.turns()).toHaveLength(1);
  });

  it('HTTP 500 → AGENT_FAILED, retryable', { timeout: T }, async () => {
    server.script(() => fail(500));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(true);
    expect(o.error.message).toContain('500');
  });

  it('HTTP 401 → AGENT_AUTH with the fix; a missing key fails before spawning', { timeout: T }, async () => {
    server.script(() => fail(401));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_AUTH');
    expect(o.error.retryable).toBe(false);
    expect(o.error.message).toContain('GEMINI_API_KEY');
    const { run } = startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env({ GEMINI_API_KEY: undefined }) });
    expect(failed(await run.outcome).error.code).toBe('AGENT_AUTH');
    expect(run.pid).toBe(0);
  });

  it('stop("timeout") kills the whole process group → AGENT_TIMEOUT (though gemini exits 0 on SIGTERM)', { timeout: T }, async () => {
    server.script(() => hangs());
    const { run } = startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() });
    await until(() => server.turns().length > 0);
    await run.stop('timeout', 1000);
    expect(groupGone(run.pid)).toBe(true);
    const o = failed(await run.outcome);
    expect(o.error.code).toBe('AGENT_TIMEOUT');
    expect(o.error.retryable).toBe(true);
  });

  it('probe reports the pinned version', { timeout: T }, async () => {
    expect(await agent().probe()).toMatchObject({ ok: true, version: '0.61.0' });
  });
});
