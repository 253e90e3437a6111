// Workspace settings: defaults, every key parsed, and one clear error line per bad value.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandsForRepo, loadWorkspaceConfig, WORKSPACE_DEFAULTS } from '../../src/config/workspace-config.js';
import { ConfigError } from '../../src/errors.js';

describe('loadWorkspaceConfig', () => {
  it('defaults', () => {
    expect(loadWorkspaceConfig({}, {}, '/srv')).toEqual({
      worktreesDir: undefined,
      mode: 'worktree',
      setup: [],
      setupTimeoutMs: 600_000,
      gates: {},
      gateTimeoutMs: 600_000,
      overrides: {},
      maxFixRounds: 2,
      review: 'note',
      merge: 'none',
      author: { name: 'vaultrunner', email: 'vaultrunner@localhost' },
    });
  });

  it('every key, overrides winning over the environment', () => {
    const c = loadWorkspaceConfig(
      {
        WORKTREES_DIR: 'wt',
        WORKSPACE_MODE: 'in-place',
        SETUP: '["npm","ci"]',
        SETUP_TIMEOUT: '90s',
        GATES: '{"test":["npm","test"],"lint":["npm","run","lint"]}',
        GATE_TIMEOUT: '2m',
        MAX_FIX_ROUNDS: '0',
        REVIEW: 'always',
        MERGE: 'squash',
        GIT_AUTHOR: 'Ada Lovelace <ada@example.com>',
      },
      { MERGE: 'ff' },
      '/srv',
    );
    expect(c).toMatchObject({
      worktreesDir: '/srv/wt',
      mode: 'in-place',
      setup: ['npm', 'ci'],
      setupTimeoutMs: 90_000,
      gates: { test: ['npm', 'test'], lint: ['npm', 'run', 'lint'] },
      gateTimeoutMs: 120_000,
      maxFixRounds: 0,
      review: 'always',
      merge: 'ff',
      author: { name: 'Ada Lovelace', email: 'ada@example.com' },
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('per-repository overrides replace setup and/or gates there, matched by real path', () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-wscfg-')));
    try {
      mkdirSync(join(root, 'app'));
      symlinkSync(join(root, 'app'), join(root, 'link'));
      const c = loadWorkspaceConfig({
        SETUP: '["npm","ci"]',
        GATES: '{"test":["npm","test"]}',
        WORKSPACE_OVERRIDES: JSON.stringify({ [join(root, 'link')]: { gates: { test: ['make', 'check'] } }, '/other': { setup: [] } }),
      });
      expect(commandsForRepo(c, join(root, 'app'))).toEqual({ setup: ['npm', 'ci'], gates: { test: ['make', 'check'] } });
      expect(commandsForRepo(c, '/other')).toEqual({ setup: [], gates: { test: ['npm', 'test'] } });
      expect(commandsForRepo(c, '/elsewhere')).toEqual({ setup: ['npm', 'ci'], gates: { test: ['npm', 'test'] } });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.each([
    ['WORKSPACE_MODE', 'worktrees', /WORKSPACE_MODE="worktrees" is not allowed; use one of worktree, in-place/],
    ['SETUP', 'npm ci', /SETUP="npm ci" is not valid JSON; use e\.g\. \["npm","ci"\]/],
    ['SETUP', '[]', /SETUP="\[\]" is not allowed/],
    ['GATES', '{"test":"npm test"}', /GATES=.* is not allowed \(at test\)/],
    ['GATES', '{"Bad Name":["x"]}', /GATES=.* is not allowed/],
    ['GATE_TIMEOUT', 'soon', /GATE_TIMEOUT="soon" is not allowed/],
    ['MAX_FIX_ROUNDS', '-1', /MAX_FIX_ROUNDS="-1" is not allowed; use a whole number from 0 to 20/],
    ['REVIEW', 'sometimes', /REVIEW="sometimes" is not allowed; use one of always, note/],
    ['MERGE', 'rebase', /MERGE="rebase" is not allowed; use one of none, ff, merge, squash/],
    ['GIT_AUTHOR', 'just a name', /GIT_AUTHOR="just a name" is not allowed; use "Name <email@example\.com>"/],
    ['WORKSPACE_OVERRIDES', '{"/x":{"deploy":["rm"]}}', /WORKSPACE_OVERRIDES=.* is not allowed/],
  ])('%s=%s is refused with a clear line', (key, value, message) => {
    expect(() => loadWorkspaceConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadWorkspaceConfig({ [key]: value })).toThrow(message);
  });
});

describe('.env.example (workspace section)', () => {
  const text = readFileSync(join(import.meta.dirname, '..', '..', '.env.example'), 'utf8');
  it.each(Object.keys(WORKSPACE_DEFAULTS))('documents %s', (key) => expect(text).toMatch(new RegExp(`^${key}=`, 'm')));
  it('is a valid workspace configuration, and so are its commented examples', () => {
    const lines = text.split('\n');
    const env = Object.fromEntries(lines.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(loadWorkspaceConfig(env).merge).toBe('none');
    const examples = Object.fromEntries(lines.filter((l) => /^# (SETUP|GATES|WORKSPACE_OVERRIDES)=/.test(l)).map((l) => [l.slice(2, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(Object.keys(examples).sort()).toEqual(['GATES', 'SETUP', 'WORKSPACE_OVERRIDES']);
    expect(loadWorkspaceConfig(examples).gates).toEqual({ test: ['npm', 'test'], lint: ['npm', 'run', 'lint'] });
  });
});
