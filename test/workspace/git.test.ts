// The git wrapper itself: typed failures, no hooks, no prompts, parsed listings.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../src/workspace/errors.js';
import { dirtyPaths, git, gitEnv, listWorktrees } from '../../src/workspace/git.js';
import { openWorkspace } from '../../src/workspace/open.js';
import { sandbox, sh, type Sandbox } from './repo-fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

describe('git()', () => {
  it('a failing command is GIT_FAILED: transient, with argv, exit code and stderr kept', async () => {
    const err = await git(['rev-parse', '--verify', 'no-such-ref'], { cwd: sb.repo }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkspaceError);
    const w = err as WorkspaceError;
    expect(w.code).toBe('GIT_FAILED');
    expect(w.transient).toBe(true);
    expect(w.details).toMatchObject({ args: ['rev-parse', '--verify', 'no-such-ref'], exitCode: 128 });
    expect(w.details.stderr).toContain('Needed a single revision');
  });

  it('accepted exit codes are answers, not errors; stdin is fed and closed', async () => {
    const r = await git(['diff', '--quiet', 'HEAD~1', 'HEAD'], { cwd: sb.repo, okExitCodes: [1] });
    expect(r.exitCode).toBe(1);
    const h = await git(['hash-object', '--stdin'], { cwd: sb.repo, input: 'abc' });
    expect(h.stdout.trim()).toBe('f2ba8f84ab5c1bce84a7b441cb1959cfc7093b7f'); // the blob "abc"
  });

  it('a command past its timeout is killed and reported as GIT_FAILED', async () => {
    const t0 = Date.now();
    const err = await git(['-c', 'alias.hang=!sleep 3', 'hang'], { cwd: sb.repo, timeoutMs: 300 }).catch((e: unknown) => e);
    expect((err as WorkspaceError).code).toBe('GIT_FAILED');
    expect((err as WorkspaceError).message).toContain('timed out after 300 ms');
    expect(Date.now() - t0).toBeLessThan(2900);
  });

  it('clean environment: only the allow-list of the parent, plus fixed settings', () => {
    const env = gitEnv({ PATH: '/bin', HOME: '/h', GIT_DIR: '/x', GIT_INDEX_FILE: '/y', ANTHROPIC_API_KEY: 'k', LANG: 'de_DE.UTF-8' });
    expect(env).toEqual({
      PATH: '/bin',
      HOME: '/h',
      LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_PAGER: 'cat',
      PAGER: 'cat',
      GIT_EDITOR: 'true',
      GIT_OPTIONAL_LOCKS: '0',
      GCM_INTERACTIVE: 'never',
    });
  });

  it('repository hooks never run (post-checkout on worktree add, via the repo’s own core.hooksPath)', async () => {
    const hooks = join(sb.root, 'hooks');
    mkdirSync(hooks);
    const marker = join(sb.root, 'hook-ran');
    writeFileSync(join(hooks, 'post-checkout'), `#!/bin/sh\ntouch "${marker}"\n`);
    chmodSync(join(hooks, 'post-checkout'), 0o755);
    sh(sb.repo, 'config', 'core.hooksPath', hooks);
    sh(sb.repo, 'checkout', '-q', '-b', 'probe'); // the hook works when git runs it normally …
    expect(() => sh(sb.repo, 'rev-parse', '--verify', 'probe')).not.toThrow();
    const { existsSync, rmSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
    sh(sb.repo, 'checkout', '-q', 'main');
    rmSync(marker);
    await openWorkspace({ taskId: 'h', workingDir: sb.repo, mode: 'worktree', worktreesDir: sb.worktrees, vaultDir: sb.vault });
    expect(existsSync(marker)).toBe(false); // … but not when we do
  });
});

describe('listings', () => {
  it('listWorktrees parses branch, detached and lock reasons', async () => {
    const a = join(sb.root, 'a');
    const b = join(sb.root, 'b');
    sh(sb.repo, 'worktree', 'add', '-q', '-b', 'feat', a);
    sh(sb.repo, 'worktree', 'add', '-q', '--detach', b);
    sh(sb.repo, 'worktree', 'lock', '--reason', 'on a usb stick', b);
    const list = await listWorktrees(sb.repo);
    expect(list.map((w) => [w.path, w.branch, w.detached, w.locked])).toEqual([
      [sb.repo, 'refs/heads/main', false, undefined],
      [a, 'refs/heads/feat', false, undefined],
      [b, undefined, true, 'on a usb stick'],
    ]);
  });

  it('dirtyPaths: staged, unstaged, untracked, renamed, odd names; never ignored files', async () => {
    writeFileSync(join(sb.repo, '.gitignore'), '*.log\n');
    writeFileSync(join(sb.repo, 'x.log'), 'ignored');
    writeFileSync(join(sb.repo, 'new file ü.txt'), 'u');
    writeFileSync(join(sb.repo, 'README.md'), 'changed');
    sh(sb.repo, 'mv', 'CHANGELOG.md', 'HISTORY.md');
    expect((await dirtyPaths(sb.repo)).sort()).toEqual(['.gitignore', 'HISTORY.md', 'README.md', 'new file ü.txt'].sort());
    expect(await dirtyPaths(sb.repo, 2)).toHaveLength(2);
  });
});
