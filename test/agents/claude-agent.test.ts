// Drives the REAL claude CLI (node_modules/.bin/claude) against the scripted model server.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent, AgentEvent, AgentFailure, AgentOutcome, AgentRunRequest, AgentSuccess } from '../../src/agents/agent.js';
import { createClaudeAgent } from '../../src/agents/claude/claude-agent.js';
import { groupRunning } from '../../src/os/process.js';
import { claudeTestEnv, cut, error, hang, startModelServer, text, toolUse, type ModelServer } from '../fixtures/model-server.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const T = 30_000;

let server: ModelServer;
let home: string;
let cwd: string;

beforeEach(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'vr-claude-home-'));
  // realpath: the CLI reports and escapes the resolved cwd
  cwd = realpathSync(mkdtempSync(join(tmpdir(), 'vr-claude-wd-')));
  execFileSync('git', ['init', '-q'], { cwd });
});

afterEach(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

function start(agent: Agent, over: Partial<AgentRunRequest> = {}, extraEnv: NodeJS.ProcessEnv = {}) {
  const events: AgentEvent[] = [];
  const raw: string[] = [];
  const run = agent.start({
    taskId: 'task-1',
    attempt: 1,
    prompt: 'say hello',
    cwd,
    permissionMode: 'default',
    env: claudeTestEnv(server.url, home, extraEnv),
    onEvent: (e) => events.push(e),
    onRawLine: (l) => raw.push(l),
    ...over,
  });
  return { run, events, raw };
}

function ok(o: AgentOutcome): AgentSuccess {
  if (!o.ok) throw new Error(`expected success, got ${o.error.code}: ${o.error.message}`);
  return o;
}
function failed(o: AgentOutcome): AgentFailure {
  if (o.ok) throw new Error(`expected failure, got success: ${o.result}`);
  return o;
}

async function until(cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const claude = createClaudeAgent({ bin: CLAUDE });

describe('claude agent (real CLI)', () => {
  it('text answer → ok with sessionId, cost and result', { timeout: T }, async () => {
    server.script(() => text('hello from the model'));
    const { run, events, raw } = start(claude);
    expect(run.pid).toBeGreaterThan(0);
    const o = ok(await run.outcome);
    expect(o.result).toBe('hello from the model');
    expect(o.exitCode).toBe(0);
    expect(typeof o.costUsd).toBe('number');
    expect(o.numTurns).toBe(1);
    expect(o.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.messageRequests()[0]?.sessionId).toBe(o.sessionId);
    expect(server.requests.some((r) => r.method === 'HEAD')).toBe(true);
    expect(events[0]).toMatchObject({ kind: 'init', sessionId: o.sessionId, cwd });
    expect(events).toContainEqual({ kind: 'text', text: 'hello from the model' });
    expect(raw.length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(raw.at(-1)!).type).toBe('result');
  });

  it('acceptEdits: tool_use Write really writes the file and the next turn carries the tool_result', { timeout: T }, async () => {
    const file = join(cwd, 'out.txt');
    server.script((req) => (req.toolResults.length > 0 ? text('wrote it') : toolUse('Write', { file_path: file, content: 'written by claude\n' }, 'toolu_w1')));
    const { run, events } = start(claude, { permissionMode: 'acceptEdits' });
    const o = ok(await run.outcome);
    expect(readFileSync(file, 'utf8')).toBe('written by claude\n');
    const reqs = server.messageRequests();
    expect(reqs).toHaveLength(2);
    expect(reqs[1]!.toolResults).toHaveLength(1);
    expect(reqs[1]!.toolResults[0]).toMatchObject({ tool_use_id: 'toolu_w1' });
    expect(reqs[1]!.toolResults[0]!.is_error).toBeFalsy();
    expect(o.permissionDenials).toEqual([]);
    expect(o.numTurns).toBe(2);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_use', id: 'toolu_w1', name: 'Write' }));
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_result', toolUseId: 'toolu_w1', isError: false }));
  });

  it('default mode: Write is denied, reported in permissionDenials, no file', { timeout: T }, async () => {
    const file = join(cwd, 'denied.txt');
    server.script((req) => (req.toolResults.length > 0 ? text('could not write') : toolUse('Write', { file_path: file, content: 'nope' })));
    const { run, events } = start(claude, { permissionMode: 'default' });
    const o = ok(await run.outcome);
    expect(existsSync(file)).toBe(false);
    expect(o.permissionDenials).toEqual([`Write ${file}`]);
    expect(server.messageRequests()[1]!.toolResults[0]!.is_error).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_result', isError: true }));
  });

  it('a result line over the 1 MiB line cap (a refused 1.1 MB write in its denials) still ends the run as a success with a denial, not a protocol failure', { timeout: T }, async () => {
    const file = join(cwd, 'big.txt');
    server.script((req) => (req.toolResults.length > 0 ? text('could not write') : toolUse('Write', { file_path: file, content: 'x'.repeat(1_100_000) })));
    // Through output files, as the service runs it (over a pipe claude itself cuts such a line).
    const files = { stdout: join(home, 'run.out'), stderr: join(home, 'run.err') };
    const o = ok(await start(claude, { permissionMode: 'default', outputFiles: files }).run.outcome);
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(files.stdout, 'utf8').split('\n').some((l) => l.length > 1024 * 1024 && l.startsWith('{"type":"result"'))).toBe(true);
    expect(o.result).toBe('could not write');
    expect(o.sessionId).toBeTruthy();
    expect(o.permissionDenials).toHaveLength(1); // counted, so the task goes to a person
  });

  it('HTTP 400 → AGENT_FAILED, not retryable, exit code 1', { timeout: T }, async () => {
    server.script(() => error(400, 'invalid_request_error', 'prompt is malformed'));
    const o = failed(await start(claude).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(false);
    expect(o.exitCode).toBe(1);
    expect(o.error.message).toContain('400');
    expect(o.error.message).not.toContain('\n');
    expect(o.sessionId).toBeDefined();
  });

  it('HTTP 529 (no CLI retries) → AGENT_FAILED, retryable', { timeout: T }, async () => {
    server.script(() => error(529, 'overloaded_error', 'Overloaded'));
    const o = failed(await start(claude, {}, { CLAUDE_CODE_MAX_RETRIES: '0' }).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(true);
  });

  it('HTTP 401 → AGENT_AUTH at the first CLI retry, with how to fix it', { timeout: T }, async () => {
    server.script(() => error(401, 'authentication_error', 'invalid x-api-key'));
    const t0 = Date.now();
    const o = failed(await start(claude).run.outcome);
    expect(o.error.code).toBe('AGENT_AUTH');
    expect(o.error.retryable).toBe(false);
    expect(o.error.message).toMatch(/claude \/login/);
    expect(o.error.message).toMatch(/ANTHROPIC_API_KEY/);
    expect(Date.now() - t0).toBeLessThan(10_000); // the CLI alone would retry for minutes
  });

  it('no API key → "Not logged in" → AGENT_AUTH', { timeout: T }, async () => {
    const o = failed(await start(claude, {}, { ANTHROPIC_API_KEY: undefined }).run.outcome);
    expect(o.error.code).toBe('AGENT_AUTH');
    expect(o.error.message).toMatch(/Not logged in/);
    expect(server.messageRequests()).toHaveLength(0);
  });

  it('plan mode: the request says "Plan mode is active"', { timeout: T }, async () => {
    server.script((req) => text(req.text.includes('Plan mode is active') ? 'planning only' : 'acting'));
    const o = ok(await start(claude, { permissionMode: 'plan' }).run.outcome);
    expect(o.result).toBe('planning only');
  });

  it("a repository's .claude/settings*.json hooks and .mcp.json servers never run", { timeout: T }, async () => {
    const marker = (name: string) => join(cwd, `${name}.marker`);
    const hook = (name: string) => [{ hooks: [{ type: 'command', command: `touch ${marker(name)}` }] }];
    mkdirSync(join(cwd, '.claude'));
    // enableAllProjectMcpServers: otherwise the project's .mcp.json would wait for an approval nobody gives
    writeFileSync(join(cwd, '.claude', 'settings.json'), JSON.stringify({ enableAllProjectMcpServers: true, hooks: { SessionStart: hook('project-hook') } }));
    writeFileSync(join(cwd, '.claude', 'settings.local.json'), JSON.stringify({ hooks: { UserPromptSubmit: hook('local-hook') } }));
    writeFileSync(join(cwd, '.mcp.json'), JSON.stringify({ mcpServers: { evil: { type: 'stdio', command: 'sh', args: ['-c', `touch ${marker('mcp')}; sleep 5`] } } }));
    server.script(() => text('planned'));
    const o = ok(await start(claude, { permissionMode: 'plan' }).run.outcome);
    expect(o.result).toBe('planned');
    expect(['project-hook', 'local-hook', 'mcp'].filter((m) => existsSync(marker(m)))).toEqual([]);
  });

  it('a 1 MB prompt goes through stdin', { timeout: T }, async () => {
    const prompt = `${'lorem ipsum '.repeat(87_382)}END-OF-BIG-PROMPT`;
    expect(prompt.length).toBeGreaterThan(1024 * 1024);
    server.script(() => text('read it'));
    const o = ok(await start(claude, { prompt }).run.outcome);
    expect(o.result).toBe('read it');
    const sent = server.messageRequests()[0]!.text;
    expect(sent).toContain('END-OF-BIG-PROMPT');
    expect(sent.length).toBeGreaterThan(prompt.length);
  });

  it('resume: the second run carries the earlier messages and the same session id', { timeout: T }, async () => {
    server.script((_req, i) => text(i === 0 ? 'first answer' : 'second answer'));
    const first = ok(await start(claude, { prompt: 'first question' }).run.outcome);
    const second = ok(await start(claude, { prompt: 'second question', resumeSessionId: first.sessionId! }).run.outcome);
    expect(second.result).toBe('second answer');
    expect(second.sessionId).toBe(first.sessionId);
    const req = server.messageRequests()[1]!;
    expect(req.sessionId).toBe(first.sessionId);
    expect(req.text).toContain('first question');
    expect(req.text).toContain('first answer');
    expect(req.text).toContain('second question');
  });

  it('server hangs → stop("timeout") kills the process group → AGENT_TIMEOUT', { timeout: T }, async () => {
    server.script(() => hang());
    const { run } = start(claude);
    await until(() => server.messageRequests().length > 0);
    const t0 = Date.now();
    await run.stop('timeout', 500);
    expect(Date.now() - t0).toBeLessThan(5_000);
    // Nothing of the group runs (an orphaned grandchild's zombie, which PID 1 here may reap late,
    // runs nothing: the definition terminateGroup and the service use).
    expect(groupRunning(run.pid)).toBe(false);
    const o = failed(await run.outcome);
    expect(o.error.code).toBe('AGENT_TIMEOUT');
    expect(o.error.message).toContain('timeout');
    expect(o.sessionId).toBeDefined();
  });

  it('stop("cancel") → AGENT_STOPPED', { timeout: T }, async () => {
    server.script(() => hang());
    const { run } = start(claude);
    await until(() => server.messageRequests().length > 0);
    await run.stop('cancel', 500);
    const o = failed(await run.outcome);
    expect(o.error.code).toBe('AGENT_STOPPED');
  });

  it('response stream cut mid-way → CLI reports a lost connection → AGENT_FAILED, retryable', { timeout: T }, async () => {
    server.script(() => cut(text('this will not arrive'), 3));
    const o = failed(await start(claude, {}, { CLAUDE_CODE_MAX_RETRIES: '0' }).run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(true);
    expect(o.error.message).toMatch(/connection|ECONNRESET/i);
  });

  it('a CLI that exits 0 without a result event → AGENT_PROTOCOL', { timeout: T }, async () => {
    const agent = createClaudeAgent({ bin: fixture('fake-claude-noresult.mjs') });
    const o = failed(await start(agent).run.outcome);
    expect(o.error.code).toBe('AGENT_PROTOCOL');
    expect(o.error.retryable).toBe(true);
    expect(o.exitCode).toBe(0);
    expect(o.sessionId).toBe('00000000-0000-4000-8000-000000000001');
  });

  it('a 32 MiB line is truncated to 1 MiB, and a throwing onEvent does not break the run', { timeout: T }, async () => {
    const agent = createClaudeAgent({ bin: fixture('fake-claude-flood.mjs') });
    const { run, raw } = start(agent, {
      onEvent: () => {
        throw new Error('sink broke');
      },
    });
    const o = ok(await run.outcome);
    expect(o.result).toBe('survived');
    expect(raw).toHaveLength(3);
    expect(raw[1]!.length).toBe(1024 * 1024);
  });

  it('missing binary → AGENT_NOT_FOUND; probe says so', { timeout: T }, async () => {
    const agent = createClaudeAgent({ bin: join(cwd, 'no-such-claude') });
    const { run } = start(agent);
    const o = failed(await run.outcome);
    expect(o.error.code).toBe('AGENT_NOT_FOUND');
    expect(o.error.retryable).toBe(false);
    await run.stop('cancel', 100); // harmless after a failed spawn
    const p = await agent.probe();
    expect(p.ok).toBe(false);
    expect(p.detail).toMatch(/not found/);
  });

  it('the child env lacks CLAUDECODE and other session markers even if the parent has them', { timeout: T }, async () => {
    const saved = process.env.CLAUDECODE;
    process.env.CLAUDECODE = '1';
    try {
      const agent = createClaudeAgent({ bin: fixture('fake-claude-env.mjs') });
      const env = { ...process.env, ...claudeTestEnv(server.url, home), CLAUDECODE: '1', CLAUDE_CODE_ENTRYPOINT: 'cli', CLAUDE_CODE_SSE_PORT: '4242' };
      const o = ok(await start(agent, { env, prompt: 'p'.repeat(5000), model: 'claude-test-model', allowedTools: ['Read', 'Write'] }).run.outcome);
      const report = JSON.parse(o.result!) as { argv: string[]; env: Record<string, string>; stdinBytes: number; cwd: string };
      expect(report.env.CLAUDECODE).toBeUndefined();
      expect(report.env.CLAUDE_CODE_ENTRYPOINT).toBeUndefined();
      expect(report.env.CLAUDE_CODE_SSE_PORT).toBeUndefined();
      expect(report.env.ANTHROPIC_BASE_URL).toBe(server.url);
      expect(report.env.HOME).toBe(home);
      expect(report.stdinBytes).toBe(5000);
      expect(report.cwd).toBe(cwd);
      expect(report.argv).toEqual([
        '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'default',
        '--setting-sources', 'user', '--strict-mcp-config',
        '--model', 'claude-test-model', '--allowedTools=Read,Write',
      ]);
    } finally {
      if (saved === undefined) delete process.env.CLAUDECODE;
      else process.env.CLAUDECODE = saved;
    }
  });

  it('probe reports the real CLI version', { timeout: T }, async () => {
    const p = await claude.probe();
    expect(p.ok).toBe(true);
    expect(p.version).toBe('2.1.197');
    expect(p.detail).toContain('Claude Code');
  });
});
