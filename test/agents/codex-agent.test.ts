// Drives the REAL codex CLI (node_modules/.bin/codex) against our scripted Responses-API server.
// Resuming a session (`exec resume`, still able to write) is checked through the service, in
// test/engine/agents-e2e.test.ts (paused mid-run, then resumed): one pair of CLI runs, not two.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCodexAgent } from '../../src/agents/codex/codex-agent.js';
import { fail, hangs, responsesWire, say, startScriptedServer, streamFail, write, type ScriptedServer } from '../fixtures/scripted-server.js';
import { binPath, cleanEnv, failed, groupGone, ok, startRun, tempDirs, until, type Dirs } from './cli-test-kit.js';

const T = 120_000;
let server: ScriptedServer;
let dirs: Dirs;

beforeEach(async () => {
  server = await startScriptedServer(responsesWire);
  dirs = tempDirs('codex');
});
afterEach(async () => {
  await server.close();
  dirs.cleanup();
});

const agent = () => createCodexAgent({ bin: binPath('codex'), stateDir: join(dirs.state, 'agents', 'codex'), apiRetries: 0, model: 'gpt-5.1' });
const env = (extra: NodeJS.ProcessEnv = {}) => cleanEnv({ OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_API_KEY: 'test-key', ...extra });

describe('codex agent (real CLI)', () => {
  it('writes a file through its own tool and succeeds, with session id and tokens', { timeout: T }, async () => {
    const file = join(dirs.cwd, 'hello.txt');
    server.script((req) => (req.afterTool ? say('wrote it') : write(file, 'hi from codex')));
    const { run, events } = startRun(agent(), { prompt: 'write hello.txt', cwd: dirs.cwd, permissionMode: 'acceptEdits', env: env() });
    const o = ok(await run.outcome);
    expect(readFileSync(file, 'utf8')).toBe('hi from codex');
    expect(o.result).toBe('wrote it');
    expect(o.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(o.tokens?.input).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'init')).toEqual([{ kind: 'init', sessionId: o.sessionId }]);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_use', name: 'shell' }));
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_result', isError: false }));
    expect(events).toContainEqual({ kind: 'text', text: 'wrote it' });
    // the prompt went through stdin and the cwd is the run's
    expect(server.turns()[0]!.text).toContain('write hello.txt');
    expect(server.turns()[0]!.text).toContain(dirs.cwd);
    expect(server.turns()[0]!.sessionId).toBe(o.sessionId);
    // our CODEX_HOME, with our provider entry
    expect(readFileSync(join(dirs.state, 'agents', 'codex', 'config.toml'), 'utf8')).toContain(`base_url = "${server.url}/v1"`);
  });

  it('default mode is read-only: the write is refused, the run still ends', { timeout: T }, async () => {
    const file = join(dirs.cwd, 'nope.txt');
    server.script((req) => (req.afterTool ? say('could not') : write(file, 'x')));
    ok(await startRun(agent(), { prompt: 'try', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(existsSync(file)).toBe(false);
  });

  it('HTTP 400 → AGENT_FAILED, permanent, after one request', { timeout: T }, async () => {
    server.script(() => fail(400, 'bad request'));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(false);
    expect(o.exitCode).toBe(1);
    expect(server.turns()).toHaveLength(1);
  });

  it('HTTP 500, and an overload inside the stream (kind server_overloaded), → AGENT_FAILED, retryable', { timeout: T }, async () => {
    server.script(() => fail(500, 'boom'));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(true);
    // `response.failed` with code server_is_overloaded: codex gives up at once; its rollout says server_overloaded.
    server.script(() => streamFail(503, 'at capacity'));
    const before = server.turns().length;
    const overloaded = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(overloaded.error.code).toBe('AGENT_FAILED');
    expect(overloaded.error.retryable).toBe(true);
    expect(overloaded.error.message).toContain('server_overloaded');
    expect(server.turns().length).toBe(before + 1);
  });

  it('a stream codex retried itself ("Reconnecting... 1/3" error event) and then finished → success', { timeout: T }, async () => {
    server.script((_req, i) => (i === 0 ? streamFail(500, 'transient') : say('all done')));
    const withRetries = createCodexAgent({ bin: binPath('codex'), stateDir: join(dirs.state, 'agents', 'codex'), apiRetries: 3, model: 'gpt-5.1' });
    const { run, events } = startRun(withRetries, { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() });
    const o = ok(await run.outcome);
    expect(o.result).toBe('all done');
    expect(server.turns()).toHaveLength(2);
    // its reconnect stays in the transcript as context
    expect(events).toContainEqual(expect.objectContaining({ kind: 'stderr', text: expect.stringContaining('Reconnecting') }));
  });

  it('HTTP 401 → AGENT_AUTH with the fix; a missing key fails before spawning', { timeout: T }, async () => {
    server.script(() => fail(401, 'invalid key'));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_AUTH');
    expect(o.error.retryable).toBe(false);
    expect(o.error.message).toContain('OPENAI_API_KEY');
    const n = server.requests.length;
    const { run } = startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env({ OPENAI_API_KEY: undefined }) });
    expect(failed(await run.outcome).error.code).toBe('AGENT_AUTH');
    expect(run.pid).toBe(0);
    expect(server.requests.length).toBe(n);
  });

  it('stop("timeout") kills the whole process group → AGENT_TIMEOUT', { timeout: T }, async () => {
    server.script(() => hangs());
    const { run } = startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() });
    await until(() => server.turns().length > 0);
    await run.stop('timeout', 1000);
    expect(groupGone(run.pid)).toBe(true);
    const o = failed(await run.outcome);
    expect(o.error.code).toBe('AGENT_TIMEOUT');
    expect(o.error.retryable).toBe(true);
    expect(o.sessionId).toBeDefined();
  });

  it('probe reports the pinned version', { timeout: T }, async () => {
    const p = await agent().probe();
    expect(p).toMatchObject({ ok: true, version: '0.171.0' });
  });
});
