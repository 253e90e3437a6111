// Git for remote runs: where a worker clones from (origin), the base it starts at, and fetching
// the pushed task branch back into the person's repository without touching their checkout.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchTaskBranch, remoteSource } from '../../src/workspace/remote.js';
import { sandbox, sh, snapshot, writeFiles, type Sandbox } from './repo-fixture.js';

let s: Sandbox | undefined;
afterEach(() => {
  s?.cleanup();
  s = undefined;
});

/** A bare `origin` beside the sandbox's repository, holding its main. */
function withOrigin(sb: Sandbox): string {
  const bare = join(sb.root, 'remote.git');
  sh(sb.root, 'init', '-q', '--bare', bare);
  sh(sb.repo, 'remote', 'add', 'origin', bare);
  sh(sb.repo, 'push', '-q', 'origin', 'main');
  return bare;
}

describe('remote runs in git', () => {
  it('needs an origin remote: NO_REMOTE (permanent) without one', async () => {
    s = sandbox();
    await expect(remoteSource({ taskId: 'fix it', workingDir: s.repo })).rejects.toMatchObject({ code: 'NO_REMOTE', retryable: false });
  });

  it('names origin, base branch and commit, the task branch and the subfolder; fetches the pushed branch back as a ref only', async () => {
    s = sandbox();
    const bare = withOrigin(s);
    const src = await remoteSource({ taskId: 'Fix it', workingDir: join(s.repo, 'src') });
    expect(src).toMatchObject({ repoRoot: s.repo, subdir: 'src', remoteUrl: bare, baseBranch: 'main', baseCommit: sh(s.repo, 'rev-parse', 'main'), branch: 'vr/fix-it-' + src.branch.slice(-6) });
    // A worker's push, simulated from another clone.
    const other = join(s.root, 'worker');
    sh(s.root, 'clone', '-q', bare, other);
    sh(other, 'checkout', '-q', '-b', src.branch);
    writeFiles(other, { 'src/done.txt': 'done\n' });
    sh(other, 'add', '-A');
    sh(other, 'commit', '-q', '-m', 'work');
    sh(other, 'push', '-q', 'origin', src.branch);
    const head = sh(other, 'rev-parse', 'HEAD');
    const before = snapshot(s.repo);
    await fetchTaskBranch(s.repo, bare, src.branch, head);
    expect(sh(s.repo, 'rev-parse', `refs/heads/${src.branch}`)).toBe(head);
    expect(snapshot(s.repo)).toEqual(before); // HEAD, index and files untouched
    // The remote not holding the commit the worker reported: a transient GIT_FAILED.
    await expect(fetchTaskBranch(s.repo, bare, src.branch, '0'.repeat(40))).rejects.toMatchObject({ code: 'GIT_FAILED', retryable: true });
    expect(sh(s.repo, 'for-each-ref', 'refs/vaultrunner/')).toBe(''); // the private ref is gone
  });

  it('never replaces commits a person made on the local task branch, nor moves it under a checkout', async () => {
    s = sandbox();
    const bare = withOrigin(s);
    const branch = 'vr/t';
    // The person's own commit on the task branch, which the worker's result does not contain.
    sh(s.repo, 'checkout', '-q', '-b', branch);
    writeFiles(s.repo, { 'mine.txt': 'mine\n' });
    sh(s.repo, 'add', '-A');
    sh(s.repo, 'commit', '-q', '-m', 'mine');
    const mine = sh(s.repo, 'rev-parse', 'HEAD');
    sh(s.repo, 'checkout', '-q', 'main');
    const other = join(s.root, 'worker');
    sh(s.root, 'clone', '-q', bare, other);
    sh(other, 'checkout', '-q', '-b', branch, 'origin/main');
    writeFiles(other, { 'w.txt': 'worker\n' });
    sh(other, 'add', '-A');
    sh(other, 'commit', '-q', '-m', 'worker');
    sh(other, 'push', '-q', 'origin', branch);
    const head = sh(other, 'rev-parse', 'HEAD');
    await expect(fetchTaskBranch(s.repo, bare, branch, head)).rejects.toMatchObject({ code: 'BRANCH_INVALID', retryable: false });
    expect(sh(s.repo, 'rev-parse', branch)).toBe(mine);
    // A branch behind the worker's result moves forward, but not while it is checked out.
    sh(s.repo, 'branch', '-f', branch, 'main');
    sh(s.repo, 'checkout', '-q', branch);
    await expect(fetchTaskBranch(s.repo, bare, branch, head)).rejects.toMatchObject({ code: 'BRANCH_CHECKED_OUT', retryable: false });
    expect(sh(s.repo, 'rev-parse', 'HEAD')).toBe(sh(s.repo, 'rev-parse', 'main'));
    sh(s.repo, 'checkout', '-q', 'main');
    await fetchTaskBranch(s.repo, bare, branch, head);
    expect(sh(s.repo, 'rev-parse', branch)).toBe(head);
    expect(sh(s.repo, 'for-each-ref', 'refs/vaultrunner/')).toBe('');
  });
});
