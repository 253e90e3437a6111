// kill -9 of the real service in the middle of a merge (after the base branch moved, before the
// worktree is removed and the note written), then a restart: the task ends in Done/ exactly once,
// the base holds exactly one merge of it, the worktree is gone, the branch kept.
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnService } from '../helpers/cli-process.js';
import { fixtureAgent, waitFor } from '../helpers/vault-harness.js';
import { initVault } from '../../src/vault/init-vault.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { sh, writeFiles } from '../workspace/repo-fixture.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function envFor(vault: string, fault?: string): NodeJS.ProcessEnv {
  return {
    VAULT_DIR: vault,
    AGENT: 'review',
    COMMAND_AGENTS: JSON.stringify({ review: fixtureAgent('review-worker') }),
    EXECUTOR_INTERVAL: '200ms',
    WATCHDOG_INTERVAL: '200ms',
    ORCHESTRATOR_INTERVAL: '300ms',
    LEASE_TTL: '3s',
    KILL_GRACE: '300ms',
    WORKSPACE_ROOTS: root,
    WORKTREES_DIR: join(root, 'worktrees'),
    MERGE: 'merge',
    LOG_LEVEL: 'info',
    ...(fault ? { VAULTRUNNER_FAULT: fault } : {}),
  };
}

describe('kill -9 during a merge, then restart', () => {
  for (const fault of ['merge-after-update', 'mid-merge']) {
    it(`merges exactly once and files the task once (${fault})`, async () => {
      root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-merge-crash-')));
      const vault = join(root, 'vault');
      const repo = join(root, 'repo');
      writeFiles(repo, { 'README.md': 'hello\n' });
      sh(repo, 'init', '-q', '-b', 'main');
      sh(repo, 'add', '-A');
      sh(repo, 'commit', '-q', '-m', 'first');
      const base = sh(repo, 'rev-parse', 'main');
      await initVault(vault, { examples: false });
      writeFileSync(join(vault, 'Needs_Action', 'ship.md'), `---\ntype: claude_code\ntitle: Ship it\nworking_dir: ${repo}\n---\nShip.\n`);

      const first = spawnService([], { cwd: root, env: envFor(vault, fault) });
      const exit = await first.exited;
      expect(exit.signal, first.output()).toBe('SIGKILL');
      // Killed after main moved: the merge is there, the note not yet filed.
      expect(sh(repo, 'rev-list', '--count', `${base}..main`)).toBe('2'); // the task's commit and the merge commit
      expect(existsSync(join(vault, 'Done', 'ship.md'))).toBe(false);

      const second = spawnService([], { cwd: root, env: envFor(vault) });
      try {
        // Filed = in Done/ and gone from Needs_Action/ (a move links first, then removes the source).
        await waitFor(() => existsSync(join(vault, 'Done', 'ship.md')) && !existsSync(join(vault, 'Needs_Action', 'ship.md')), `filed after ${fault}`, 30_000, 100);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      const r = await new NoteStore().read(join(vault, 'Done', 'ship.md'));
      expect(r.ok && r.data.status).toBe('done');
      const main = sh(repo, 'rev-parse', 'main');
      expect(r.ok && r.data.merge_commit).toBe(main);
      // No second merge: main is the one merge commit of the task branch.
      expect(sh(repo, 'rev-list', '--count', `${base}..main`)).toBe('2');
      expect(sh(repo, 'rev-list', '--parents', '-n', '1', 'main').split(' ')).toHaveLength(3);
      expect(sh(repo, 'branch', '--list', 'vr/ship')).toContain('vr/ship');
      expect(sh(repo, 'worktree', 'list')).not.toContain('ship');
      expect(readdirSync(join(vault, 'Done')).filter((n) => n.endsWith('.md'))).toEqual(['ship.md']);
      expect(readdirSync(join(vault, 'Needs_Action')).filter((n) => n.endsWith('.md'))).toEqual([]);
      expect(readdirSync(join(vault, '.vaultrunner', 'leases')).filter((n) => n.endsWith('.json'))).toEqual([]);
      const body = r.ok ? r.body : '';
      expect(body.match(/^## Result/gm)).toHaveLength(1);
    }, 60_000);
  }
});
