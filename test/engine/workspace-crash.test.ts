// kill -9 of the real service at each step of a run in a git worktree (after `worktree add`, during
// and after setup, after the commit, during a gate), then a restart: the task ends done exactly once, the
// agent's commit is on its branch, setup ran once, and no worktree is left that nobody owns.
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, isZombie } from '../../src/os/process.js';
import { initVault } from '../../src/vault/init-vault.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { worktreePathFor } from '../../src/workspace/worktree.js';
import { spawnService } from '../helpers/cli-process.js';
import { concurrency, fixtureAgent, parseRunLog, waitFor } from '../helpers/vault-harness.js';
import { sh, snapshot, writeFiles } from '../workspace/repo-fixture.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const lines = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);
// Gone, or an orphaned zombie (PID 1 in this container does not reap).
const gone = (pid: number) => !isAlive(pid) || isZombie(pid);

interface Paths { root: string; vault: string; repo: string; worktrees: string; runLog: string; setupLog: string; gateLog: string }

function envFor(p: Paths, fault?: string, mode: 'ok' | 'sleep' = 'ok'): NodeJS.ProcessEnv {
  return {
    VAULT_DIR: p.vault,
    AGENT: 'git',
    COMMAND_AGENTS: JSON.stringify({ git: fixtureAgent('git-worker') }),
    WORKSPACE_ROOTS: p.root,
    WORKTREES_DIR: p.worktrees,
    SETUP: JSON.stringify([process.execPath, join(FIXTURES, 'setup-step.mjs'), p.setupLog, fault === 'during-setup' ? mode : 'ok']),
    GATES: JSON.stringify({ check: [process.execPath, join(FIXTURES, 'gate-step.mjs'), p.gateLog, fault === 'during-gate' ? mode : 'pass'] }),
    EXECUTOR_INTERVAL: '200ms',
    WATCHDOG_INTERVAL: '200ms',
    ORCHESTRATOR_INTERVAL: '300ms',
    LEASE_TTL: '3s',
    KILL_GRACE: '300ms',
    FIXTURE_LOG: p.runLog,
    LOG_LEVEL: 'info',
    ...(fault ? { VAULTRUNNER_FAULT: fault } : {}),
  };
}

async function crashThenRecover(fault: string) {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-wscrash-')));
  const p: Paths = { root, vault: join(root, 'vault'), repo: join(root, 'repo'), worktrees: join(root, 'worktrees'), runLog: join(root, 'runs.log'), setupLog: join(root, 'setup.log'), gateLog: join(root, 'gate.log') };
  writeFileSync(p.runLog, '');
  writeFiles(p.repo, { 'README.md': 'hello\n', '.gitignore': 'deps/\n' });
  sh(p.repo, 'init', '-q', '-b', 'main');
  sh(p.repo, 'add', '-A');
  sh(p.repo, 'commit', '-q', '-m', 'first');
  const before = snapshot(p.repo);
  const mainHead = sh(p.repo, 'rev-parse', 'main');
  await initVault(p.vault, { examples: false });
  writeFileSync(join(p.vault, 'Needs_Action', 'job.md'), `---\ntype: claude_code\ntitle: The job\nworking_dir: ${p.repo}\n---\nDo the job.\n`);

  const first = spawnService([], { cwd: root, env: envFor(p, fault, 'sleep') });
  const exit = await first.exited;
  expect(exit.signal, first.output()).toBe('SIGKILL');
  // Killed during a step: that step's process lives on (its own process group) until recovery.
  if (fault === 'during-setup') await waitFor(() => lines(p.setupLog).some((l) => l.what === 'sleep'), 'the orphaned setup running', 60_000);
  if (fault === 'during-gate') await waitFor(() => lines(p.gateLog).some((l) => l.mode === 'sleep'), 'the orphaned gate running', 60_000);
  const second = spawnService([], { cwd: root, env: envFor(p) });
  try {
    // Filed = in Done/ and gone from Needs_Action/ (a move links first, then removes the source).
    await waitFor(() => existsSync(join(p.vault, 'Done', 'job.md')) && !existsSync(join(p.vault, 'Needs_Action', 'job.md')), `done after ${fault}`, 150_000, 100);
  } catch (err) {
    const note = ['Needs_Action', 'Done'].map((f) => join(p.vault, f, 'job.md')).filter(existsSync).map((f) => readFileSync(f, 'utf8'));
    throw new Error(`${(err as Error).message}\n--- note:\n${note.join('\n')}\n--- first:\n${first.output().slice(-3000)}\n--- second:\n${second.output().slice(-6000)}`);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }

  // Finished exactly once.
  const r = await new NoteStore().read(join(p.vault, 'Done', 'job.md'));
  expect(r.ok && r.data.status, second.output()).toBe('done');
  expect(readdirSync(join(p.vault, 'Done')).filter((n) => n.endsWith('.md'))).toEqual(['job.md']);
  expect(readdirSync(join(p.vault, 'Needs_Action')).filter((n) => n.endsWith('.md'))).toEqual([]);
  expect(readdirSync(join(p.vault, '.vaultrunner', 'leases')).filter((n) => n.endsWith('.json'))).toEqual([]);
  expect(concurrency(parseRunLog(p.runLog), (x) => x.task).overlaps).toEqual([]);

  // No lost commit: the agent's work is on the branch, which the note's head_commit names.
  const data = r.ok ? r.data : {};
  expect(data.head_commit).toBe(sh(p.repo, 'rev-parse', 'vr/job'));
  expect(sh(p.repo, 'merge-base', 'main', 'vr/job')).toBe(mainHead);
  expect(sh(p.repo, 'log', '--format=', '--name-only', 'main..vr/job').split('\n')).toContain('work-job.txt');
  expect(sh(p.repo, 'show', 'vr/job:work-job.txt')).toBe('work of job');
  expect(data.gate_results).toBe('check passed');

  // Setup finished once: a crash after it does not run it again; one before or during it does.
  expect(lines(p.setupLog).map((l) => l.what)).toEqual(fault === 'during-setup' ? ['sleep', 'done'] : ['done']);

  // Worktrees: the person's checkout and at most the task's own; no other folder under WORKTREES_DIR.
  const own = worktreePathFor(p.worktrees, join(p.repo, '.git'), p.repo, 'job');
  const listed = sh(p.repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice('worktree '.length));
  expect(listed[0]).toBe(p.repo);
  expect(listed.slice(1).every((w) => w === own), listed.join(', ')).toBe(true);
  const folders = existsSync(p.worktrees) ? readdirSync(p.worktrees).flatMap((d) => readdirSync(join(p.worktrees, d)).map((n) => join(p.worktrees, d, n))) : [];
  expect(folders.every((f) => f === own), folders.join(', ')).toBe(true);
  if (listed.includes(own)) expect(sh(own, 'status', '--porcelain')).toBe('');
  expect(basename(dirname(own))).toMatch(/^repo-[0-9a-f]{8}$/);

  // The person's checkout was never touched.
  expect(snapshot(p.repo)).toEqual(before);
  return { p };
}

describe('kill -9 of the service during a run in a worktree, then restart', () => {
  for (const fault of ['after-worktree-add', 'during-setup', 'after-setup', 'after-commit', 'during-gate']) {
    it(`recovers after ${fault}`, async () => {
      const { p } = await crashThenRecover(fault);
      const gates = lines(p.gateLog);
      if (fault === 'during-gate') {
        // The gate the dead service left running was ended by recovery (its run marker), not left to finish.
        const orphan = gates.find((g) => g.mode === 'sleep')!;
        expect(gone(orphan.pid as number)).toBe(true);
        expect(gates.some((g) => g.woke)).toBe(false);
        expect(gates.filter((g) => g.mode === 'pass')).toHaveLength(1);
      } else {
        expect(gates).toHaveLength(1);
      }
      if (fault === 'during-setup') {
        // The setup the dead service left running (and its child) was ended by recovery.
        const orphan = lines(p.setupLog).find((l) => l.what === 'sleep')!;
        expect(gone(orphan.pid as number) && gone(orphan.child as number)).toBe(true);
      }
    }, 300_000);
  }
});
