// The job schema, ids and settings: pure checks, no Redis.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseRunJob, runId, type RunJobInput } from '../../src/queue/job.js';
import { checkQueueUrl, redactUrl } from '../../src/queue/redis.js';
import { withoutCredentials } from '../../src/queue/repo-url.js';
import { remoteAllowed } from '../../src/queue/worker.js';
import { workerSettings } from '../../src/queue/worker-config.js';

const base: RunJobInput = {
  v: 1,
  taskId: 'Fix the login bug',
  attempt: 2,
  leaseToken: 'a1b2c3d4e5f60718',
  agent: 'claude',
  permissionMode: 'acceptEdits',
  prompt: 'do it',
  timeoutMs: 60_000,
  repoUrl: 'git@example.com:team/app.git',
  baseCommit: '0123456789abcdef0123456789abcdef01234567',
  branch: 'vr/fix-the-login-bug',
};

describe('run jobs', () => {
  it('accepts a well-formed job and defaults the gates to none', () => {
    expect(parseRunJob(base).gates).toEqual([]);
    expect(parseRunJob({ ...base, subdir: 'packages/web' }).subdir).toBe('packages/web');
    expect(parseRunJob({ ...base, maxBudgetUsd: 2.5 }).maxBudgetUsd).toBe(2.5);
    expect(parseRunJob(base).maxBudgetUsd).toBeUndefined();
  });

  it.each([
    ['a branch that reads as an option', { branch: '--upload-pack=evil' }],
    ['a branch with a refspec colon', { branch: 'main:refs/heads/other' }],
    ['a branch with ..', { branch: 'a/../b' }],
    ['an unknown permission mode', { permissionMode: 'yolo' }],
    ['a gate given as a command', { gates: ['npm test'] }],
    ['a field the schema does not know (no smuggled argv)', { argv: ['rm', '-rf', '/'] }],
    ['a base that is not a commit id', { baseCommit: 'HEAD~1' }],
    ['a subfolder that climbs out of the checkout', { subdir: 'src/../../etc' }],
    ['an absolute subfolder', { subdir: '/etc' }],
    ['a subfolder inside .git', { subdir: '.git/hooks' }],
    ['a budget of nothing', { maxBudgetUsd: 0 }],
    ['an endless budget', { maxBudgetUsd: Infinity }],
  ])('refuses %s', (_what, patch) => {
    expect(() => parseRunJob({ ...base, ...patch })).toThrow();
  });

  it('derives one id per claim: same task, attempt and lease give the same id; any change a new one', () => {
    const id = runId(base);
    expect(id).toBe(runId({ ...base }));
    expect(id).toMatch(/^fix-the-login-bug\.a2\.[0-9a-f]{16}$/);
    expect(id).not.toContain(':');
    expect(runId({ ...base, attempt: 3 })).not.toBe(id);
    expect(runId({ ...base, leaseToken: 'ffffffffffffffff' })).not.toBe(id);
  });

  it('never shows a Redis password', () => {
    expect(redactUrl('redis://:s3cret@host:6379/0')).toBe('redis://:***@host:6379/0');
    expect(redactUrl('rediss://user:s3cret@host:6380')).toBe('rediss://user:***@host:6380');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
    // A password holding @ or /, and a token as the user: nothing of it shows.
    expect(redactUrl('redis://:s3cr@tpass@host:6379')).toBe('redis://:***@host:6379');
    expect(redactUrl('redis://:ab/cdSECRET@host')).toBe('redis://:***@host');
    expect(redactUrl('https://ghp_TOKEN@github.com/team/x.git')).toBe('https://***@github.com/team/x.git');
    expect(redactUrl('git@github.com:team/x.git')).toBe('git@github.com:team/x.git');
    expect(() => checkQueueUrl('redis://:ab/cdSECRET@host')).not.toThrow(/SECRET/);
  });

  it('a job\'s repository URL: credentials go, scheme, host, port, path and an ssh user stay', () => {
    expect(withoutCredentials('https://alice:s3cret@git.example:8443/team/x.git')).toBe('https://git.example:8443/team/x.git');
    expect(withoutCredentials('https://ghp_TOKEN@github.com/team/x.git')).toBe('https://github.com/team/x.git');
    // A password holding @: everything up to the authority's last @ goes.
    expect(withoutCredentials('https://u:p@ss@[::1]:8080/x.git?y#z')).toBe('https://[::1]:8080/x.git?y#z');
    // An @ in the path is the path's.
    expect(withoutCredentials('https://git.example/team/x@v2.git')).toBe('https://git.example/team/x@v2.git');
    expect(withoutCredentials('ssh://git:s3cret@git.example:2222/team/x.git')).toBe('ssh://git@git.example:2222/team/x.git');
    expect(withoutCredentials('git+ssh://deploy@git.example/x.git')).toBe('git+ssh://deploy@git.example/x.git');
    expect(withoutCredentials('ssh://:s3cret@git.example/x.git')).toBe('ssh://git.example/x.git');
    for (const same of ['git@github.com:team/x.git', '/srv/git/x.git', 'file:///srv/git/x.git', 'https://git.example/x.git']) expect(withoutCredentials(same)).toBe(same);
  });

  it('WORKER_REMOTES: whole segments only, and never a URL with . or .. segments', () => {
    expect(remoteAllowed('https://git.example/team/x.git', 'https://git.example/team/')).toBe(true);
    expect(remoteAllowed('https://git.example/team/x.git', 'https://git.example/team')).toBe(true);
    expect(remoteAllowed('https://git.example/team-evil/x.git', 'https://git.example/team')).toBe(false);
    expect(remoteAllowed('git@host:team/x.git', 'git@host:team/')).toBe(true);
    for (const bad of ['https://git.example/team/../other.git', 'git@host:team/../x.git', '/srv/allowed/../x.git', 'https://git.example/team/%2e%2E/x.git', 'https://git.example/team/./x.git']) {
      expect(remoteAllowed(bad, bad.startsWith('/') ? '/srv/allowed/' : bad.startsWith('git@') ? 'git@host:team/' : 'https://git.example/team/'), bad).toBe(false);
    }
  });

  it('worker settings: flags over env, clear errors for bad values', () => {
    const s = workerSettings({ concurrency: '3', agents: 'claude, codex' }, { QUEUE_URL: 'redis://h:1', HOME: '/home/w', GATES: '{"test":["npm","test"]}' }, '/srv');
    expect(s).toMatchObject({ queueUrl: 'redis://h:1', concurrency: 3, agents: ['claude', 'codex'], workdir: '/home/w/.local/share/vaultrunner/worker', gates: { test: ['npm', 'test'] } });
    expect(() => workerSettings({}, {}, '/srv')).toThrow(ConfigError);
    expect(() => workerSettings({ queue: 'http://h' }, {}, '/srv')).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => workerSettings({ queue: 'redis://h', concurrency: '0' }, {}, '/srv')).toThrow(/--concurrency/);
    expect(() => workerSettings({ queue: 'redis://h' }, { GATES: '{"test":"npm test"}' }, '/srv')).toThrow(/GATES/);
  });
});
