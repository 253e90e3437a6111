// The operator's SETUP in a task's fresh worktree, through the real service: real temp
// repositories, a real setup process, a command agent. Setup runs once per worktree, before the
// agent; a failure is a clear permanent error, a timeout is retried and ends setup's process group.
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, isZombie } from '../../src/os/process.js';

// Gone, or an orphaned zombie (PID 1 in this container does not reap).
const gone = (pid: number) => !isAlive(pid) || isZombie(pid);
import { createHarness, fixtureAgent, waitFor, type Harness } from '../helpers/vault-harness.js';
import { sh, writeFiles, gitRepoWithCommit, noteField } from '../workspace/repo-fixture.js';

let h: Harness;
let aside: string; // the setup log and flag files: outside the harness, known before it starts
beforeEach(() => {
  aside = realpathSync(mkdtempSync(join(tmpdir(), 'vr-setup-')));
});
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  rmSync(aside, { recursive: true, force: true });
  delete process.env.VR_TEST_SECRET;
});

const AGENTS = JSON.stringify({ git: fixtureAgent('git-worker') });
const SETUP_SCRIPT = join(import.meta.dirname, '..', 'fixtures', 'setup-step.mjs');
const setupArgv = (log: string, mode: 'ok' | 'fail' | 'sleep' = 'ok') => JSON.stringify([process.execPath, SETUP_SCRIPT, log, mode]);

/** A repository on `main` with one commit (deps/ ignored, like node_modules), inside WORKSPACE_ROOTS. */
function repoIn(h: Harness, name = 'repo'): string {
  return repoAt(join(realpathSync(h.root), name));
}

function repoAt(repo: string): string {
  return gitRepoWithCommit(repo, { 'README.md': 'hello\n', '.gitignore': 'deps/\n' });
}

interface SetupLine { what: string; cwd: string; branch?: string; pid: number; at: number; env: string[]; child?: number }
const setupLines = (log: string): SetupLine[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SetupLine) : []);
const field = noteField;
/** The note's `error`, unquoted (YAML double quotes escape like JSON here). */
const errorOf = (text: string) => {
  const raw = /^error: (.*)$/m.exec(text)?.[1] ?? '';
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
};

describe('SETUP in a fresh worktree', () => {
  it('runs once before the agent, in the worktree, in a clean environment; output in the transcript; a retry does not run it again', async () => {
    process.env.VR_TEST_SECRET = 'must-not-leak';
    const log = join(aside, 'setup.log');
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, SETUP: setupArgv(log), MAX_CONCURRENT: '1' }, { agentEnv: { FIXTURE_FAIL_ONCE: aside } });
    const repo = repoIn(h);
    await h.start();
    h.drop('with-setup', `type: claude_code\ntitle: With setup\nworking_dir: ${repo}\nmax_attempts: 3`);
    const t = await waitFor(() => h.find('with-setup')?.folder === 'Done' && h.find('with-setup')!.text, 'done', 30_000);
    // Two attempts (the first failed on purpose), one setup: the worktree remembered it.
    expect(field(t, 'attempts')).toBe('2');
    const runs = h.runs().filter((r) => r.task === 'with-setup');
    expect(runs).toHaveLength(2);
    const lines = setupLines(log);
    expect(lines.map((l) => l.what)).toEqual(['done']);
    const wt = lines[0]!.cwd;
    expect(wt.startsWith(realpathSync(join(h.root, 'worktrees')))).toBe(true);
    expect(lines[0]!.branch).toBe('vr/with-setup');
    expect(lines[0]!.at).toBeLessThanOrEqual(runs[0]!.start);
    // A clean environment: the run marker and the task id, never the service's secrets.
    expect(lines[0]!.env).toContain('VAULTRUNNER_RUN');
    expect(lines[0]!.env).toContain('VAULTRUNNER_TASK_ID');
    expect(lines[0]!.env).not.toContain('VR_TEST_SECRET');
    // What setup installed is ignored, so it is not committed; the agent's work is.
    expect(sh(repo, 'show', '--name-only', '--format=', 'vr/with-setup')).toBe('work-with-setup.txt');
    // Its output is in the first attempt's transcript; the second says it was not run again.
    const first = readFileSync(join(h.vault, 'Logs', 'runs', 'with-setup', 'attempt-1.md'), 'utf8');
    expect(first).toMatch(/\[!example\]- Setup done after [\d.]+ s: .*setup-step\.mjs .* ok\n/);
    expect(first).toContain('> setup: added 3 packages');
    const second = readFileSync(join(h.vault, 'Logs', 'runs', 'with-setup', 'attempt-2.md'), 'utf8');
    expect(second).toContain('already done in this worktree; not run again');
    expect(second).not.toContain('setup: added 3 packages');
  }, 60_000);

  it('a per-repository override replaces the global SETUP; in-place mode runs none', async () => {
    const global = join(aside, 'global.log');
    const own = join(aside, 'own.log');
    const special = repoAt(join(aside, 'special'));
    const other = repoAt(join(aside, 'other'));
    const cfg = { AGENT: 'git', COMMAND_AGENTS: AGENTS, WORKSPACE_ROOTS: aside, SETUP: setupArgv(global), WORKSPACE_OVERRIDES: JSON.stringify({ [special]: { setup: JSON.parse(setupArgv(own)) as string[] } }) };
    h = createHarness(cfg);
    await h.start();
    h.drop('special-task', `type: claude_code\nworking_dir: ${special}`);
    h.drop('other-task', `type: claude_code\nworking_dir: ${other}`);
    await waitFor(() => h.find('special-task')?.folder === 'Done' && h.find('other-task')?.folder === 'Done', 'both done', 30_000);
    expect(setupLines(own).map((l) => l.branch)).toEqual(['vr/special-task']);
    expect(setupLines(global).map((l) => l.branch)).toEqual(['vr/other-task']);
    await h.stop();
    h.cleanup();

    // In place, the agent works in the person's own checkout: no setup there.
    rmSync(global);
    h = createHarness({ ...cfg, WORKSPACE_MODE: 'in-place' });
    await h.start();
    h.drop('in-place', `type: claude_code\nworking_dir: ${other}`);
    await waitFor(() => h.find('in-place')?.folder === 'Done', 'done', 30_000);
    expect(existsSync(join(other, 'work-in-place.txt'))).toBe(true);
    expect(setupLines(global)).toEqual([]);
  }, 60_000);

  it('a failing setup fails the task permanently with SETUP_FAILED, the command, exit code and output tail; the agent never runs', async () => {
    const log = join(aside, 'setup.log');
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, SETUP: setupArgv(log, 'fail') });
    const repo = repoIn(h);
    await h.start();
    h.drop('broken-setup', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 3`);
    const t = await waitFor(() => h.status('broken-setup') === 'failed' && h.find('broken-setup')!.text, 'failed', 30_000);
    const error = errorOf(t);
    expect(error).toMatch(/^SETUP_FAILED: setup \[.*setup-step\.mjs.*,\\?"fail\\?"\] failed \(exit 7\); output ends: .*could not resolve left-pad@9/);
    expect(field(t, 'attempts')).toBe('1'); // permanent: not retried
    expect(h.runs()).toEqual([]);
    expect(setupLines(log).map((l) => l.what)).toEqual(['fail']);
    const transcript = readFileSync(join(h.vault, 'Logs', 'runs', 'broken-setup', 'attempt-1.md'), 'utf8');
    expect(transcript).toMatch(/Setup failed \(exit 7\) after/);
    expect(transcript).toContain('> npm ERR! could not resolve left-pad@9');
  }, 60_000);

  it('a setup past SETUP_TIMEOUT is stopped with its whole process group and retried like a timeout, then fails', async () => {
    const log = join(aside, 'setup.log');
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, SETUP: setupArgv(log, 'sleep'), SETUP_TIMEOUT: '1s', KILL_GRACE: '300ms' });
    const repo = repoIn(h);
    await h.start();
    h.drop('slow-setup', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 2`);
    const t = await waitFor(() => h.status('slow-setup') === 'failed' && h.find('slow-setup')!.text, 'failed', 30_000);
    expect(errorOf(t)).toMatch(/^SETUP_TIMEOUT: setup .* did not finish within 1 s/);
    expect(field(t, 'attempts')).toBe('2'); // retried once: a timeout may pass next time
    expect(h.runs()).toEqual([]);
    const lines = setupLines(log);
    expect(lines.map((l) => l.what)).toEqual(['sleep', 'sleep']); // not remembered as done
    for (const l of lines) {
      expect(gone(l.pid)).toBe(true);
      expect(gone(l.child!)).toBe(true); // its child too: the whole group
    }
  }, 60_000);

  it('cancelling during setup ends setup\'s process group; the agent never starts', async () => {
    const log = join(aside, 'setup.log');
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, SETUP: setupArgv(log, 'sleep'), KILL_GRACE: '300ms' });
    const repo = repoIn(h);
    await h.start();
    const path = h.drop('cancel-setup', `type: claude_code\nworking_dir: ${repo}`);
    const line = await waitFor(() => setupLines(log)[0], 'setup running', 30_000);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: .*$/m, 'status: cancelled'));
    await waitFor(() => gone(line.pid) && gone(line.child!), 'setup stopped', 30_000);
    await waitFor(() => h.find('cancel-setup')?.folder === 'Done', 'filed', 30_000);
    expect(h.status('cancel-setup')).toBe('cancelled');
    expect(h.runs()).toEqual([]);
  }, 60_000);
});

describe('pre-flight through the service', () => {
  it('an unknown gate in the note fails permanently (GATE_UNKNOWN) before any worktree, setup or agent', async () => {
    const log = join(aside, 'setup.log');
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, SETUP: setupArgv(log), GATES: JSON.stringify({ test: ['node', '-e', '0'] }) });
    const repo = repoIn(h);
    await h.start();
    h.drop('wants-more', `type: claude_code\nworking_dir: ${repo}\ngates: [test, nope]\nmax_attempts: 3`);
    const t = await waitFor(() => h.status('wants-more') === 'failed' && h.find('wants-more')!.text, 'failed', 30_000);
    expect(errorOf(t)).toBe('GATE_UNKNOWN: the note asks for gate(s) "nope" that the operator has not defined (defined: test); a note can only choose among GATES');
    expect(t).not.toMatch(/^attempts:/m);
    expect(h.runs()).toEqual([]);
    expect(setupLines(log)).toEqual([]);
    expect(sh(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree '))).toEqual([`worktree ${repo}`]);
    expect(sh(repo, 'branch', '--list', 'vr/*')).toBe('');
  }, 60_000);

  it('in-place mode refuses a dirty checkout (TREE_DIRTY, files named); allow_dirty: true runs there; a retry is not refused for its own leftovers', async () => {
    h = createHarness({ AGENT: 'git', COMMAND_AGENTS: AGENTS, WORKSPACE_MODE: 'in-place' }, { agentEnv: { FIXTURE_FAIL_ONCE: aside } });
    const dirty = repoIn(h, 'dirty');
    const clean = repoIn(h, 'clean');
    writeFiles(dirty, { 'README.md': 'edited by the person\n' });
    await h.start();
    h.drop('refused', `type: claude_code\nworking_dir: ${dirty}\nmax_attempts: 3`);
    const t = await waitFor(() => h.status('refused') === 'failed' && h.find('refused')!.text, 'failed', 30_000);
    expect(errorOf(t)).toMatch(/^TREE_DIRTY: .*dirty has uncommitted changes \(README\.md\); commit or stash them, or set allow_dirty: true$/);
    expect(h.runs()).toEqual([]);
    expect(readFileSync(join(dirty, 'README.md'), 'utf8')).toBe('edited by the person\n');

    // (Its first attempt fails, leaving a file: the retry runs there all the same.)
    h.drop('allowed', `type: claude_code\nworking_dir: ${dirty}\nallow_dirty: true\nmax_attempts: 2`);
    await waitFor(() => h.find('allowed')?.folder === 'Done', 'allowed done', 30_000);
    expect(existsSync(join(dirty, 'work-allowed.txt'))).toBe(true);
    expect(readFileSync(join(dirty, 'README.md'), 'utf8')).toContain('edited by the person'); // the person's edit is still there

    // The first attempt leaves a half-written file and fails; the retry goes on in the same checkout.
    h.drop('retried', `type: claude_code\nworking_dir: ${clean}\nmax_attempts: 2`);
    const r = await waitFor(() => h.find('retried')?.folder === 'Done' && h.find('retried')!.text, 'retried done', 30_000);
    expect(field(r, 'attempts')).toBe('2');
    expect(readFileSync(join(clean, 'work-retried.txt'), 'utf8')).toBe('work of retried\n');
  }, 60_000);
});
