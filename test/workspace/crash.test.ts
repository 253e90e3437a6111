// kill -9 at each workspace fault point (a real SIGKILL of a real process), then the same step
// again: the task ends with exactly one commit, one merge, one worktree.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitAll, type CommitRequest } from '../../src/workspace/commit.js';
import { mergeTask, type MergeRequest } from '../../src/workspace/merge.js';
import { openWorkspace, type OpenWorkspaceRequest } from '../../src/workspace/open.js';
import { sandbox, sh, type Sandbox } from './repo-fixture.js';

const DRIVER = join(import.meta.dirname, 'crash-driver.ts');

/** Runs the step in a child that SIGKILLs itself at `fault`; asserts it really died there. */
function crashAt(fault: string, op: 'open' | 'commit' | 'merge', req: unknown): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', DRIVER, JSON.stringify({ op, req })], {
    env: { ...process.env, VAULTRUNNER_FAULT: fault },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

let sb: Sandbox;
let open: OpenWorkspaceRequest;
beforeEach(() => {
  sb = sandbox();
  open = { taskId: 'crash-task', workingDir: sb.repo, mode: 'worktree', worktreesDir: sb.worktrees, vaultDir: sb.vault };
});
afterEach(() => sb.cleanup());

describe('crash points', () => {
  it('after worktree add: the next call finds the same worktree', async () => {
    crashAt('after-worktree-add', 'open', open);
    const ws = await openWorkspace(open);
    expect(ws.created).toBe(false);
    expect(sh(ws.root, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('vr/crash-task');
    expect(sh(sb.repo, 'worktree', 'list').split('\n')).toHaveLength(2);
  });

  for (const fault of ['commit-before-ref', 'commit-after-ref']) {
    it(`${fault}: exactly one commit holding all the work`, async () => {
      const ws = await openWorkspace(open);
      writeFileSync(join(ws.root, 'work.txt'), 'done\n');
      const req: CommitRequest = { cwd: ws.root, baseCommit: ws.baseCommit, title: 'T', taskId: 'crash-task', ownWorktree: true };
      crashAt(fault, 'commit', req);
      const r = await commitAll(req);
      expect(r.committed).toBe(fault === 'commit-before-ref');
      expect(sh(ws.root, 'rev-list', '--count', `${ws.baseCommit}..HEAD`)).toBe('1');
      expect(r.files.map((f) => f.path)).toEqual(['work.txt']);
      expect(sh(ws.root, 'status', '--porcelain')).toBe('');
    });
  }

  for (const fault of ['merge-before-update', 'merge-after-update']) {
    for (const where of ['checked-out', 'not-checked-out']) {
      it(`${fault} (${where}): exactly one merge, checkout consistent`, async () => {
        if (where === 'not-checked-out') sh(sb.repo, 'checkout', '-q', '-b', 'person');
        const ws = await openWorkspace(open);
        writeFileSync(join(ws.root, 'work.txt'), 'done\n');
        await commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: 'T', taskId: 'crash-task', ownWorktree: true });
        const base = sh(sb.repo, 'rev-parse', 'main');
        const req: MergeRequest = { repoRoot: sb.repo, branch: ws.branch, baseBranch: 'main', mode: 'merge', taskId: 'crash-task', title: 'T' };
        crashAt(fault, 'merge', req);
        const r = await mergeTask(req);
        expect(r.status).toBe(fault === 'merge-before-update' ? 'merged' : 'already-merged');
        expect(sh(sb.repo, 'rev-list', '--count', `${base}..main`)).toBe('2'); // the task's commit + one merge
        expect(sh(sb.repo, 'rev-list', '--merges', '--count', 'main')).toBe('1');
        expect(sh(sb.repo, 'status', '--porcelain')).toBe('');
      });
    }
  }
});
