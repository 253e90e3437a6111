// Drives the REAL opencode CLI (node_modules/.bin/opencode) against our scripted chat-completions server.
// Each opencode run costs ~5 s of CPU (its start), so what the service-level test
// (test/engine/agents-e2e.test.ts) already checks with opencode is not run again here: resume
// (`-s`, the same session with its earlier messages), a 5xx taken as a retryable AGENT_FAILED
// (its overload test), and a timeout stopping the whole process group as AGENT_TIMEOUT.
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpencodeAgent, repositoryPlugins, STALE_RUN_DIR_MS, sweepStaleRunDirs } from '../../src/agents/opencode/opencode-agent.js';
import { chatWire, fail, say, startScriptedServer, write, type ScriptedServer } from '../fixtures/scripted-server.js';
import { binPath, cleanEnv, failed, ok, startRun, tempDirs, type Dirs } from './cli-test-kit.js';

// Generous: opencode starts in ~3 s idle, but over a minute on a loaded 2-core machine.
const T = 300_000;
let server: ScriptedServer;
let dirs: Dirs;
let registry: { url: string; requests: string[]; close(): Promise<void> };

/** Stands in for the npm registry (npm_config_registry): records what opencode asks for, answers 404. */
async function startRegistry(): Promise<typeof registry> {
  const requests: string[] = [];
  const srv = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, requests, close: () => new Promise((r) => srv.close(() => r())) };
}

beforeEach(async () => {
  server = await startScriptedServer(chatWire);
  registry = await startRegistry();
  dirs = tempDirs('opencode');
});
afterEach(async () => {
  await server.close();
  await registry.close();
  dirs.cleanup();
  // No run may install anything: opencode's own plugin install goes to this registry if it starts.
  expect(registry.requests).toEqual([]);
});

const stateDir = () => join(dirs.state, 'agents', 'opencode');
const agent = () => createOpencodeAgent({ bin: binPath('opencode'), stateDir: stateDir(), model: 'test-model' });
const env = (extra: NodeJS.ProcessEnv = {}) =>
  cleanEnv({ OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_API_KEY: 'test-key', npm_config_registry: registry.url, ...extra });

describe('opencode agent (real CLI)', () => {
  it('writes a file through its write tool and succeeds, with session id, tokens and cost; installs nothing', { timeout: T }, async () => {
    const file = join(dirs.cwd, 'hello.txt');
    server.script((req) => (req.afterTool ? say('wrote it') : write(file, 'hi from opencode')));
    const { run, events } = startRun(agent(), { prompt: 'write hello.txt', cwd: dirs.cwd, permissionMode: 'acceptEdits', env: env() });
    const o = ok(await run.outcome);
    expect(readFileSync(file, 'utf8')).toBe('hi from opencode');
    expect(o.result).toBe('wrote it');
    expect(o.sessionId).toMatch(/^ses_/);
    expect(o.tokens?.input).toBeGreaterThan(0);
    expect(o.costUsd).toBe(0);
    expect(events.filter((e) => e.kind === 'init')).toEqual([{ kind: 'init', sessionId: o.sessionId }]);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_use', name: 'write', input: { filePath: file, content: 'hi from opencode' } }));
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_result', isError: false }));
    expect(events).toContainEqual({ kind: 'text', text: 'wrote it' });
    const first = server.turns()[0]!;
    expect(first.sessionId).toBe(o.sessionId);
    expect(first.text).toContain('write hello.txt');
    expect(first.text).toContain(dirs.cwd); // $PWD is the run's directory, not ours
    // its session database lives in our state dir
    expect(existsSync(join(stateDir(), 'data', 'opencode'))).toBe(true);
    // snapshot: false: no shadow git repository holding a copy of the working folder
    expect(existsSync(join(stateDir(), 'data', 'opencode', 'snapshot'))).toBe(false);
    // No plugin install: nothing asked of the (stand-in) npm registry, no package in its config dir,
    // no "background dependency install failed" (the 404 our registry gives) in its log.
    expect(registry.requests).toEqual([]);
    const configDir = join(stateDir(), 'config', 'opencode');
    expect(readdirSync(join(configDir, 'node_modules'))).toEqual(['.vaultrunner']);
    expect(existsSync(join(configDir, 'package.json'))).toBe(false);
    const logs = join(stateDir(), 'data', 'opencode', 'log');
    const log = readdirSync(logs).map((f) => readFileSync(join(logs, f), 'utf8')).join('');
    expect(log).toContain('creating instance');
    expect(log).not.toContain('dependency install');
  });

  it('default mode denies edits: nothing is written and the run does not count as done, whatever ~/.opencode allows', { timeout: T }, async () => {
    const file = join(dirs.cwd, 'nope.txt');
    // The person's ~/.opencode (opencode's installer makes one) allows edits; it must not count.
    const home = join(dirs.state, 'person-home');
    mkdirSync(join(home, '.opencode'), { recursive: true });
    writeFileSync(join(home, '.opencode', 'opencode.json'), JSON.stringify({ permission: { edit: 'allow' } }));
    server.script((req) => (req.afterTool ? say('could not') : write(file, 'x')));
    const o = await startRun(agent(), { prompt: 'try', cwd: dirs.cwd, permissionMode: 'default', env: env({ HOME: home }) }).run.outcome;
    expect(existsSync(file)).toBe(false);
    // not taken as a config dir: opencode would write its .gitignore there and install into it
    expect(readdirSync(join(home, '.opencode'))).toEqual(['opencode.json']);
    if (!o.ok) expect(o.error.retryable).toBe(false);
  });

  it('two runs at once keep their own permissions: the default-mode run writes nothing, the bypass one does', { timeout: T }, async () => {
    const fileB = join(dirs.cwd, 'b.txt');
    const fileA = join(dirs.cwd, 'a.txt');
    server.script((req) => (req.afterTool ? say('finished') : write(req.text.includes('run-b') ? fileB : fileA, 'x')));
    const a = agent();
    // B first, A at once: with one shared opencode.json, B read A's permissions
    let bFirstLine = 0;
    const b = startRun(a, { prompt: 'run-b: write b.txt', cwd: dirs.cwd, permissionMode: 'default', env: env(), onRawLine: () => (bFirstLine ||= performance.now()) }).run;
    const runA = startRun(a, { prompt: 'run-a: write a.txt', cwd: dirs.cwd, permissionMode: 'bypassPermissions', env: env() }).run;
    // On a fresh state dir both would set up opencode's database at once ("database is locked",
    // a table made twice: a retryable failure of one of them); A waits until B has printed.
    let aSpawned = 0;
    void runA.spawned?.then(() => (aSpawned = performance.now()));
    const [ob, oa] = await Promise.all([b.outcome, runA.outcome]);
    expect(bFirstLine).toBeGreaterThan(0);
    expect(aSpawned).toBeGreaterThanOrEqual(bFirstLine);
    ok(oa);
    expect(readFileSync(fileA, 'utf8')).toBe('x');
    expect(existsSync(fileB)).toBe(false);
    if (!ob.ok) expect(ob.error.retryable).toBe(false);
    // each run's own config is gone with it
    expect(readdirSync(join(stateDir(), 'runs'))).toEqual([]);
  });

  it('a run config dir left by a crash is swept after a day, a recent one is kept (no run)', () => {
    const runs = join(stateDir(), 'runs');
    mkdirSync(join(runs, 'old'), { recursive: true });
    mkdirSync(join(runs, 'new'), { recursive: true });
    writeFileSync(join(runs, 'old', 'opencode.json'), '{}');
    const dayAgo = new Date(Date.now() - STALE_RUN_DIR_MS - 60_000);
    utimesSync(join(runs, 'old'), dayAgo, dayAgo);
    sweepStaleRunDirs(stateDir());
    expect(readdirSync(runs)).toEqual(['new']);
  });

  it('HTTP 400 → AGENT_FAILED, permanent', { timeout: T }, async () => {
    server.script(() => fail(400));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(false);
    expect(o.error.message).toContain('400');
    expect(server.turns()).toHaveLength(1);
  });

  it('HTTP 401 → AGENT_AUTH with the fix; a missing key fails before spawning', { timeout: T }, async () => {
    server.script(() => fail(401));
    const o = failed(await startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env() }).run.outcome);
    expect(o.error.code).toBe('AGENT_AUTH');
    expect(o.error.retryable).toBe(false);
    expect(o.error.message).toContain('OPENAI_API_KEY');
    const { run } = startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'default', env: env({ OPENAI_API_KEY: undefined }) });
    expect(failed(await run.outcome).error.code).toBe('AGENT_AUTH');
    expect(run.pid).toBe(0);
  });

  it("a repository's .opencode/plugin(s) files refuse the run before opencode starts (it would import them even with project config off)", { timeout: T }, async () => {
    const marker = join(dirs.state, 'plugin-ran');
    mkdirSync(join(dirs.cwd, '.opencode', 'plugins'), { recursive: true });
    writeFileSync(join(dirs.cwd, '.opencode', 'plugins', 'x.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
    server.script(() => say('hello'));
    const { run } = startRun(agent(), { prompt: 'x', cwd: dirs.cwd, permissionMode: 'plan', env: env() });
    const outcome = await run.outcome;
    expect(existsSync(marker)).toBe(false); // (before: opencode imported the file, the marker was written)
    const o = failed(outcome);
    expect(o.error.code).toBe('PERMISSION_DENIED');
    expect(o.error.message).toContain(join(dirs.cwd, '.opencode', 'plugins'));
    expect(run.pid).toBe(0);
  });

  it('plugins count from the run folder up to the repository top (above it opencode does not look: a person\'s ~/.opencode/plugins); outside a repository up to the root (no run)', () => {
    const outer = join(dirs.state, 'home');
    const repo = join(outer, 'code', 'repo');
    mkdirSync(join(outer, '.opencode', 'plugins'), { recursive: true });
    writeFileSync(join(outer, '.opencode', 'plugins', 'mine.js'), 'export const P = async () => ({});\n');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'pkg'));
    expect(repositoryPlugins(join(repo, 'pkg'))).toBeUndefined();
    mkdirSync(join(repo, '.opencode', 'plugin'), { recursive: true });
    writeFileSync(join(repo, '.opencode', 'plugin', 'x.ts'), '');
    expect(repositoryPlugins(join(repo, 'pkg'))).toBe(join(repo, '.opencode', 'plugin'));
    // no repository: opencode's own walk goes on up, and so does the check
    const plain = join(outer, 'notes', 'work');
    mkdirSync(plain, { recursive: true });
    expect(repositoryPlugins(plain)).toBe(join(outer, '.opencode', 'plugins'));
  });

  it('probe reports the pinned version', { timeout: T }, async () => {
    expect(await agent().probe()).toMatchObject({ ok: true, version: '1.18.33' });
  });
});
