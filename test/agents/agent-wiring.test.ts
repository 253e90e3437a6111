// How the built-in agents are wired from the config: registry, capabilities, state dirs, models,
// per-vendor credentials, the idle timeout of the shared process layer, and Claude's hardening.
// Real child processes (fixture scripts standing in for the CLIs), real temp dirs.
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../src/agents/agent.js';
import { createClaudeAgent } from '../../src/agents/claude/claude-agent.js';
import { createCommandAgent } from '../../src/agents/command-agent.js';
import { agentEnv } from '../../src/agents/process/index.js';
import { AgentRegistry, agentStateDir } from '../../src/agents/registry.js';
import { loadConfig } from '../../src/config/config.js';
import { failed, groupGone, ok, startRun, until } from './cli-test-kit.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', name);
const SECRETS = { ANTHROPIC_API_KEY: 'sk-ant-x', ANTHROPIC_AUTH_TOKEN: 'tok-x', OPENAI_API_KEY: 'sk-openai-x', CODEX_API_KEY: 'codex-x', GEMINI_API_KEY: 'gem-x', GOOGLE_API_KEY: 'goog-x' };
let root: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-wiring-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const config = (env: Record<string, string> = {}) => loadConfig({ VAULT_DIR: join(root, 'vault'), COMMAND_AGENTS: '{}', ...env }, {}, root);

describe('the registry', () => {
  it('has the four built-in agents, each declaring what it can do', () => {
    const r = AgentRegistry.fromConfig(config());
    expect(r.names()).toEqual(['claude', 'codex', 'gemini', 'opencode']);
    const caps = Object.fromEntries(r.names().map((n) => [n, capabilitiesOf(r.get(n)!)]));
    for (const n of r.names()) {
      expect(caps[n]!.resume).toBe(true);
      expect(caps[n]!.permissionModes).toEqual(['plan', 'default', 'acceptEdits', 'bypassPermissions']);
      expect(r.get(n)!.kind).toBe(n);
    }
    expect([caps.claude!.reportsCost, caps.codex!.reportsCost, caps.gemini!.reportsCost, caps.opencode!.reportsCost]).toEqual([true, false, false, true]);
    expect([caps.codex!.reportsTokens, caps.gemini!.reportsTokens, caps.opencode!.reportsTokens]).toEqual([true, true, true]);
    expect([caps.claude!.planMode, caps.codex!.planMode, caps.gemini!.planMode, caps.opencode!.planMode]).toEqual([true, false, true, true]);
  });

  it('runs codex with its state dir in the vault, MODEL_CODEX, and only the OpenAI key', async () => {
    const c = config({ CODEX_BIN: fixture('fake-codex-env.mjs'), MODEL_CODEX: 'gpt-test' });
    const codex = AgentRegistry.fromConfig(c).get('codex')!;
    const { run } = startRun(codex, { prompt: 'x', cwd: root, permissionMode: 'acceptEdits', env: { ...process.env, ...SECRETS, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } });
    const o = ok(await run.outcome);
    const report = JSON.parse(o.result!) as { argv: string[]; env: Record<string, string> };
    const state = agentStateDir(c.vaultDir, 'codex');
    expect(state).toBe(join(root, 'vault', '.vaultrunner', 'agents', 'codex'));
    expect(report.env.CODEX_HOME).toBe(state);
    expect(readFileSync(join(state, 'config.toml'), 'utf8')).toContain('base_url = "http://127.0.0.1:9/v1"');
    expect(report.argv).toEqual(['exec', '--json', '-s', 'workspace-write', '--skip-git-repo-check', '-m', 'gpt-test', '-']);
    expect(report.env.OPENAI_API_KEY).toBe('sk-openai-x');
    expect(report.env.CODEX_API_KEY).toBe('codex-x');
    for (const k of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'GEMINI_API_KEY', 'GOOGLE_API_KEY']) expect(report.env[k], k).toBeUndefined();
  });

  it('runs claude with MODEL_CLAUDE and the budget, and without any other vendor key', async () => {
    const claude = AgentRegistry.fromConfig(config({ CLAUDE_BIN: fixture('fake-claude-env.mjs'), MODEL_CLAUDE: 'claude-test' })).get('claude')!;
    const { run } = startRun(claude, { prompt: 'x', cwd: root, permissionMode: 'default', maxBudgetUsd: 0.5, env: { ...process.env, ...SECRETS } });
    const report = JSON.parse(ok(await run.outcome).result!) as { argv: string[]; env: Record<string, string> };
    expect(report.argv).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'default', '--setting-sources', 'user', '--strict-mcp-config', '--model', 'claude-test', '--max-budget-usd', '0.5']);
    expect(report.env.ANTHROPIC_API_KEY).toBe('sk-ant-x');
    expect(report.env.ANTHROPIC_AUTH_TOKEN).toBe('tok-x');
    for (const k of ['OPENAI_API_KEY', 'CODEX_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY']) expect(report.env[k], k).toBeUndefined();
  });

  it('gives gemini only the Gemini keys', () => {
    const env = agentEnv({ ...SECRETS, PATH: '/bin' }, 'gemini');
    expect(env).toEqual({ GEMINI_API_KEY: 'gem-x', GOOGLE_API_KEY: 'goog-x', PATH: '/bin' });
  });
});

describe('idle timeout (shared process layer)', () => {
  it('stops a command agent that goes silent: retryable AGENT_TIMEOUT "no output for …", whole group gone', async () => {
    const agent = createCommandAgent({ name: 'quiet', argv: [process.execPath, fixture('agents/hang.mjs')], idleTimeoutMs: 2000 });
    const { run, events } = startRun(agent, { prompt: 'x', cwd: root, permissionMode: 'default', env: process.env });
    const o = failed(await run.outcome);
    expect(o.error.code).toBe('AGENT_TIMEOUT');
    expect(o.error.retryable).toBe(true);
    expect(o.error.message).toMatch(/no output for 2s/);
    // It did print before going silent, and its grandchild died with it.
    const grandchild = Number(/grandchild (\d+)/.exec(events.map((e) => (e.kind === 'text' ? e.text : '')).join('\n'))?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    // (PID 1 may reap the killed processes a moment later.)
    await until(() => groupGone(run.pid) && groupGone(grandchild), 3000);
  });

  it('stops a claude that goes silent after init the same way', async () => {
    const agent = createClaudeAgent({ bin: fixture('fake-claude-script.mjs'), idleTimeoutMs: 2000 });
    const o = failed(await startRun(agent, { prompt: 'x', cwd: root, permissionMode: 'default', env: { ...process.env, FAKE_CLAUDE_MODE: 'silent' } }).run.outcome);
    expect(o.error.code).toBe('AGENT_TIMEOUT');
    expect(o.error.retryable).toBe(true);
    expect(o.error.message).toMatch(/no output for 2s/);
    expect(o.sessionId).toBe('00000000-0000-4000-8000-000000000009');
  });
});

describe('claude hardening', () => {
  const run = (mode: string, opts: { afterResultGraceMs?: number } = {}) => {
    const agent = createClaudeAgent({ bin: fixture('fake-claude-script.mjs'), ...opts });
    return startRun(agent, { prompt: 'x', cwd: root, permissionMode: 'default', env: { ...process.env, FAKE_CLAUDE_MODE: mode } });
  };

  it('ends a process still alive after its result, and counts the run as done', async () => {
    const r = run('linger', { afterResultGraceMs: 300 });
    const o = ok(await r.run.outcome);
    expect(o.sessionId).toBe('00000000-0000-4000-8000-000000000009');
    await until(() => groupGone(r.run.pid), 3000);
  });

  it('recovers events spliced onto one line and skips (and reports) a malformed line', async () => {
    const r = run('spliced');
    ok(await r.run.outcome);
    expect(r.events).toContainEqual({ kind: 'text', text: 'spliced text' });
    expect(r.events.filter((e) => e.kind === 'init')).toHaveLength(1);
    expect(r.events).toContainEqual(expect.objectContaining({ kind: 'stderr', text: expect.stringMatching(/skipped a malformed output line/) }));
  });

  it('error_max_budget_usd is a permanent failure that states the spend', async () => {
    const o = failed(await run('budget').run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(false);
    expect(o.error.message).toMatch(/budget cap \(spent \$0\.52/);
    expect(o.costUsd).toBe(0.52);
  });

  it('judges by is_error: an API 500 reported as subtype "success" is a retryable failure', async () => {
    const o = failed(await run('api500').run.outcome);
    expect(o.error.code).toBe('AGENT_FAILED');
    expect(o.error.retryable).toBe(true);
    expect(o.error.message).toMatch(/API error 500/);
  });
});
