// `doctor`: passes on a healthy setup, and each check is shown failing on its own.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliVault, type CliVault } from '../helpers/cli-vault.js';

let v: CliVault;
// Healthy: a fake claude that prints a version and an API key. The service needs 3 inotify
// watches whatever the vault's size, which any system has.
const healthy = { ANTHROPIC_API_KEY: 'sk-test-secret-value' };
beforeEach(() => {
  v = createCliVault({ env: healthy });
});
afterEach(() => v.cleanup());

function doctor(env: Record<string, string> = {}) {
  const r = v.run(['doctor'], { env });
  const lines = r.stdout.split('\n');
  return { ...r, failed: lines.filter((l) => l.startsWith('✗ ')), passed: lines.filter((l) => l.startsWith('✓ ')) };
}

function expectOnlyFailure(r: ReturnType<typeof doctor>, pattern: RegExp) {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.failed, r.stdout).toHaveLength(1);
  expect(r.failed[0]).toMatch(pattern);
  expect(r.stdout).toMatch(/1 of \d+ checks failed\n$/);
}

describe('vaultrunner doctor', () => {
  it('passes when all is well (and never prints the secret)', () => {
    v.task('queued', `type: claude_code\nstatus: planned\nworking_dir: ${v.work}`);
    const r = doctor();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.failed).toEqual([]);
    expect(r.stdout).toMatch(/all \d+ checks passed\n$/);
    expect(r.stdout).toContain('✓ config valid');
    expect(r.stdout).toContain('✓ vault layout present and writable');
    expect(r.stdout).toMatch(/✓ agent claude \(default\): version 2\.1\.0/);
    expect(r.stdout).toContain('✓ agent demo: found');
    expect(r.stdout).toContain('✓ Claude credentials: ANTHROPIC_API_KEY is set (environment)');
    expect(r.stdout).toContain('✓ working dirs of 1 queued tasks exist inside WORKSPACE_ROOTS');
    expect(r.stdout).toContain('✓ service lock: free');
    expect(r.stdout).toContain('✓ no sync conflict copies');
    expect(r.stdout).toMatch(/✓ inotify watch limit \d+ \(the service needs 3\)|✓ inotify watch limit: not applicable/);
    expect(r.stdout + r.stderr).not.toContain('sk-test-secret-value');
  });

  it('a bad config value is a ✗ line (exit 1, not 2), and the other checks still run', () => {
    const r = doctor({ MAX_CONCURRENT: 'lots' });
    expectOnlyFailure(r, /^✗ config invalid: MAX_CONCURRENT="lots" is not allowed/);
    expect(r.stdout).toContain('✓ vault layout present');
  });

  it('a missing vault folder fails the layout check', () => {
    rmSync(v.path('Plans'), { recursive: true });
    expectOnlyFailure(doctor(), /^✗ vault layout: missing Plans\/ in .*vaultrunner init/);
  });

  it('a missing vault fails the layout check', () => {
    const r = doctor({ VAULT_DIR: join(v.root, 'nope') });
    expect(r.code).toBe(1);
    expect(r.failed[0]).toMatch(/^✗ vault: .*nope does not exist/);
  });

  it('has a line per built-in agent: version and whether its key is present, never the key', () => {
    // The real codex and opencode binaries (an empty *_BIN: the installed one).
    const r = doctor({ OPENAI_API_KEY: 'sk-openai-secret-value', CODEX_BIN: '', OPENCODE_BIN: '', GEMINI_BIN: '/nonexistent/gemini' });
    expectOnlyFailure(r, /^✗ agent gemini: gemini CLI not found/);
    expect(r.stdout).toMatch(/✓ agent codex: version \d+\.\d+\.\d+.*OPENAI_API_KEY is set \(environment\), not verified/);
    expect(r.stdout).toMatch(/✓ agent opencode: version \d+\.\d+\.\d+.*OPENAI_API_KEY is set.*no MODEL_OPENCODE/);
    // Explicitly configured but missing: a failure, even though gemini is not the default agent.
    expect(r.stdout).toMatch(/✗ agent gemini: gemini CLI not found at "\/nonexistent\/gemini"/);
    expect(r.stdout).not.toContain('sk-openai-secret-value');
  }, 60_000);

  it('the default agent without its key fails, with the fix', () => {
    expectOnlyFailure(doctor({ AGENT: 'codex' }), /^✗ agent codex \(default\): version .*no OPENAI_API_KEY: set OPENAI_API_KEY/);
  }, 60_000);

  it('a missing claude binary fails the agent check', () => {
    expectOnlyFailure(doctor({ CLAUDE_BIN: '/nonexistent/claude' }), /^✗ agent claude \(default\): claude CLI not found at "\/nonexistent\/claude"/);
  });

  it('no credentials fails (HOME without a login, no key)', () => {
    rmSync(v.path('../home/.claude'), { recursive: true, force: true });
    const r = v.run(['doctor'], { env: { VAULTRUNNER_DOCTOR_MIN_WATCHES: '1', ANTHROPIC_API_KEY: '' } });
    expect(r.code).toBe(1);
    const failed = r.stdout.split('\n').filter((l) => l.startsWith('✗'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/^✗ Claude credentials: none found.*ANTHROPIC_API_KEY/);
  });

  it('finds a Claude login in ~/.claude/.credentials.json, ~/.claude.json or a key in .env', () => {
    const env = { VAULTRUNNER_DOCTOR_MIN_WATCHES: '1', ANTHROPIC_API_KEY: '' };
    mkdirSync(join(v.home, '.claude'), { recursive: true });
    writeFileSync(join(v.home, '.claude', '.credentials.json'), JSON.stringify({ claudeAiOauth: { accessToken: 'sk-ant-oat-secret' } }));
    let r = v.run(['doctor'], { env });
    expect(r.stdout).toMatch(/✓ Claude credentials: a login in .*\.credentials\.json/);
    expect(r.stdout).not.toContain('sk-ant-oat-secret');
    rmSync(join(v.home, '.claude'), { recursive: true });
    writeFileSync(join(v.home, '.claude.json'), JSON.stringify({ oauthAccount: { emailAddress: 'me@example.com' } }));
    expect(v.run(['doctor'], { env }).stdout).toMatch(/✓ Claude credentials: a login \(oauthAccount\)/);
    rmSync(join(v.home, '.claude.json'));
    writeFileSync(join(v.root, '.env'), 'ANTHROPIC_AUTH_TOKEN=tok-secret\n');
    r = v.run(['doctor'], { env });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('✓ Claude credentials: ANTHROPIC_AUTH_TOKEN is set (.env)');
    expect(r.stdout).not.toContain('tok-secret');
  });

  it.skipIf(!existsSync('/proc/sys/fs/inotify/max_user_watches'))('a low inotify watch limit fails (threshold via VAULTRUNNER_DOCTOR_MIN_WATCHES)', () => {
    expectOnlyFailure(doctor({ VAULTRUNNER_DOCTOR_MIN_WATCHES: String(2 ** 40) }), /^✗ inotify watch limit \d+ is below the 1099511627776 the service needs .*sysctl/);
  });

  it('a queued task whose working_dir is outside WORKSPACE_ROOTS (or missing) fails', () => {
    v.task('outside', `type: claude_code\nstatus: planned\nworking_dir: ${tmpdir()}`);
    v.task('missing', `type: claude_code\nstatus: new\nworking_dir: ${join(v.work, 'gone')}`);
    v.task('finished', `type: claude_code\nstatus: failed\nworking_dir: /`); // not queued: not checked
    const r = doctor();
    expectOnlyFailure(r, /^✗ working dirs: 2 of 2 queued tasks cannot run/);
    expect(r.stdout).toMatch(/\n {4}outside: working_dir ".*" is outside WORKSPACE_ROOTS/);
    expect(r.stdout).toMatch(/\n {4}missing: working_dir ".*gone" is not an existing directory/);
  });

  it('a stale lock (dead pid) fails with how to fix it; a live one is "service running"', () => {
    const dead = spawnSync('true').pid!; // exited: its pid is dead
    v.write('.vaultrunner/service.lock', JSON.stringify({ owner: { host: hostname(), pid: dead }, startedAt: Date.now() - 60_000, heartbeatAt: Date.now() - 60_000 }));
    expectOnlyFailure(doctor(), new RegExp(`^✗ stale service lock: pid ${dead} on .* is gone.*'vaultrunner start' clears it, or delete .*service\\.lock`));
    v.write('.vaultrunner/service.lock', JSON.stringify({ owner: { host: hostname(), pid: process.pid }, startedAt: Date.now(), heartbeatAt: Date.now() }));
    const r = doctor();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✓ service running (pid ${process.pid} on ${hostname()}`);
  });

  it('a sync-conflict copy in a task folder fails', () => {
    v.task('fix', 'type: claude_code');
    v.write('Needs_Action/fix.sync-conflict-20260101-120000-ABCDEFG.md', '---\ntype: claude_code\n---\n');
    v.write('Done/old (Conflicted copy 2026-01-01).md', 'x');
    const r = doctor();
    expectOnlyFailure(r, /^✗ sync conflict copies: 2; .*merge each/);
    expect(r.stdout).toContain('    Needs_Action/fix.sync-conflict-20260101-120000-ABCDEFG.md');
    expect(r.stdout).toContain('    Done/old (Conflicted copy 2026-01-01).md');
  });
});
