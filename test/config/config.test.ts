import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, PACKAGE_ROOT } from '../../src/config/config.js';
import { parseDuration } from '../../src/config/duration.js';
import { ConfigError } from '../../src/errors.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['45', 45_000],
  ])('%s → %i ms', (input, ms) => expect(parseDuration(input)).toBe(ms));
  it.each(['', 'ten minutes', '5d', '-1s', '1 h 2'])('rejects %j', (input) => expect(parseDuration(input)).toBeUndefined());
});

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({}, {}, '/srv');
    expect(c.vaultDir).toBe('/srv/vault');
    expect(c.executorTypes).toEqual(['claude_code', 'claude_task', 'claude_app']);
    expect(c.maxConcurrent).toBe(3);
    expect(c.taskTimeoutMs).toBe(600_000);
    expect([c.orchestratorIntervalMs, c.executorIntervalMs, c.watchdogIntervalMs]).toEqual([60_000, 30_000, 15_000]);
    expect(c.permissionMode).toBe('acceptEdits');
    expect(c.retryBackoffMs).toBe(30_000);
    expect(c.workspaceRoots).toEqual([]);
    expect(Object.keys(c.commandAgents)).toEqual(['demo']);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('QUEUE_URL: unset is embedded mode; redis:// or rediss:// sends runs to workers; anything else is refused without echoing it', () => {
    expect(loadConfig({}, {}, '/srv').queue).toBeUndefined();
    expect(loadConfig({ QUEUE_URL: 'redis://:pw@10.0.0.5:6379/2' }, {}, '/srv').queue).toEqual({ url: 'redis://:pw@10.0.0.5:6379/2', prefix: 'vaultrunner' });
    expect(loadConfig({ QUEUE_URL: 'rediss://h:6380', QUEUE_PREFIX: 'team-a' }, {}, '/srv').queue).toEqual({ url: 'rediss://h:6380', prefix: 'team-a' });
    const bad = () => loadConfig({ QUEUE_URL: 'http://user:hunter2@h/' }, {}, '/srv');
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/QUEUE_URL is not allowed; use redis:/);
    expect(bad).not.toThrow(/hunter2/);
    expect(() => loadConfig({ QUEUE_URL: 'redis://h', QUEUE_PREFIX: 'a:b' }, {}, '/srv')).toThrow(/QUEUE_PREFIX/);
  });

  it('lets flags override the environment', () => {
    const c = loadConfig({ VAULT_DIR: '/a', MAX_CONCURRENT: '5' }, { VAULT_DIR: '/b' }, '/');
    expect(c.vaultDir).toBe('/b');
    expect(c.maxConcurrent).toBe(5);
  });

  it.each([
    [{ MAX_CONCURRENT: 'lots' }, /^MAX_CONCURRENT="lots" is not allowed; use a whole number from 1 to 256$/],
    [{ TASK_TIMEOUT: '10 minutes' }, /^TASK_TIMEOUT="10 minutes" is not allowed; use a duration like 500ms, 30s, 10m or 1h/],
    // Longer than a timer can wait: Node would fire it at once and every run would time out.
    [{ TASK_TIMEOUT: '600h' }, /^TASK_TIMEOUT="600h" is not allowed; .*at most 596h, about 24 days\)$/],
    [{ AGENT_IDLE_TIMEOUT: '1000h' }, /^AGENT_IDLE_TIMEOUT="1000h" is not allowed; .*at most 596h/],
    [{ PERMISSION_MODE: 'yolo' }, /^PERMISSION_MODE="yolo" is not allowed; use one of plan, default, acceptEdits, bypassPermissions$/],
    [{ EXECUTOR_AUTORUN: 'maybe' }, /^EXECUTOR_AUTORUN="maybe" is not allowed; use true or false$/],
    [{ PLANNER: 'magic' }, /^PLANNER="magic" is not allowed; use one of agent, template$/],
    [{ WATCH_MODE: 'inotify' }, /^WATCH_MODE="inotify" is not allowed; use one of events, poll$/],
    [{ COMMAND_AGENTS: '{bad json' }, /^COMMAND_AGENTS=.* is not allowed; use JSON like/],
    [{ COMMAND_AGENTS: '{"x":"node run.js"}' }, /COMMAND_AGENTS=.*argv array/],
    [{ AGENT: 'ghost' }, /^AGENT="ghost" is not allowed; use one of claude, codex, gemini, opencode, demo$/],
    [{ COMMAND_AGENTS: '{"claude":["sh"]}' }, /may not redefine "claude"/],
    [{ COMMAND_AGENTS: '{"codex":["sh"]}' }, /may not redefine "codex"; use CODEX_BIN/],
    [{ MAX_BUDGET_USD: '-1' }, /^MAX_BUDGET_USD="-1" is not allowed; use a positive number/],
    [{ MAX_BUDGET_USD: 'lots' }, /^MAX_BUDGET_USD="lots" is not allowed/],
    [{ MODEL_CODEX: '--yolo' }, /^MODEL_CODEX="--yolo" is not allowed/],
    [{ AGENT_IDLE_TIMEOUT: 'never' }, /^AGENT_IDLE_TIMEOUT="never" is not allowed/],
  ])('rejects %j with one line naming key, value and what is allowed', (env, message) => {
    let err: unknown;
    try {
      loadConfig(env, {}, '/');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('configures the built-in agents: binaries (PATH, else node_modules/.bin), models, budget cap, idle timeout', () => {
    const bare = loadConfig({ PATH: '/nonexistent' }, {}, '/');
    for (const [key, name] of [['claudeBin', 'claude'], ['codexBin', 'codex'], ['geminiBin', 'gemini'], ['opencodeBin', 'opencode']] as const) {
      expect(bare[key]).toBe(join(PACKAGE_ROOT, 'node_modules', '.bin', name));
    }
    expect(bare.models).toEqual({});
    expect(bare.maxBudgetUsd).toBeUndefined();
    expect(bare.agentIdleTimeoutMs).toBe(300_000);
    const dir = mkdtempSync(join(tmpdir(), 'vr-path-'));
    try {
      writeFileSync(join(dir, 'gemini'), '#!/bin/sh\n', { mode: 0o755 });
      const c = loadConfig(
        { PATH: dir, CODEX_BIN: '/opt/codex', AGENT: 'opencode', MODEL_CLAUDE: 'opus', MODEL_CODEX: 'gpt-5.1', MODEL_GEMINI: 'gemini-2.5-flash', MODEL_OPENCODE: 'qwen3', MAX_BUDGET_USD: '2.5', AGENT_IDLE_TIMEOUT: '90s' },
        {},
        '/',
      );
      expect(c.codexBin).toBe('/opt/codex');
      expect(c.geminiBin).toBe(join(dir, 'gemini'));
      expect(c.agent).toBe('opencode');
      expect(c.models).toEqual({ claude: 'opus', codex: 'gpt-5.1', gemini: 'gemini-2.5-flash', opencode: 'qwen3' });
      expect(c.maxBudgetUsd).toBe(2.5);
      expect(c.agentIdleTimeoutMs).toBe(90_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves relative command-agent scripts and workspace roots against the config directory', () => {
    const c = loadConfig({ COMMAND_AGENTS: '{"x":["node","./agent.mjs","--flag"]}', WORKSPACE_ROOTS: 'src:/abs' }, {}, '/home/op');
    expect(c.commandAgents.x).toEqual(['node', '/home/op/agent.mjs', '--flag']);
    expect(c.workspaceRoots).toEqual(['/home/op/src', '/abs']);
  });
});
