// A run cut off by kill -9 of the service (and of its agent) resumes its session on restart, told
// what the person added to the note meanwhile: the body it started from was kept in its lease (a
// run that just finishes writes no task state file at all).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { isAlive, isZombie } from '../../src/os/process.js';
import { initVault } from '../../src/vault/init-vault.js';
import { stateFileName } from '../../src/vault/state-key.js';
import { spawnService } from '../helpers/cli-process.js';
import { fixtureAgent, parseRunLog, waitFor } from '../helpers/vault-harness.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('a run killed with its service resumes its session with the instructions added since it started', async () => {
  root = mkdtempSync(join(tmpdir(), 'vr-crash-resume-'));
  const vault = join(root, 'vault');
  const runLog = join(root, 'runs.log');
  const prompts = join(root, 'prompts');
  mkdirSync(prompts);
  writeFileSync(runLog, '');
  await initVault(vault, { examples: false });
  const env = (sleepMs: number): NodeJS.ProcessEnv => ({
    VAULT_DIR: vault,
    AGENT: 'session',
    COMMAND_AGENTS: JSON.stringify({ session: fixtureAgent('session') }),
    WATCHDOG_INTERVAL: '200ms',
    LEASE_TTL: '3s',
    KILL_GRACE: '300ms',
    FIXTURE_LOG: runLog,
    FIXTURE_PROMPT_DIR: prompts,
    FIXTURE_SLEEP_MS: String(sleepMs),
  });
  const note = join(vault, 'Needs_Action', 'long.md');
  writeFileSync(note, '---\ntype: claude_code\n---\nDo the first thing.\n');
  const first = spawnService([], { cwd: root, env: env(60_000) });
  const run = await waitFor(() => parseRunLog(runLog).find((r) => r.task === 'long' && r.attempt === 1), 'the first attempt started', 30_000);
  await waitFor(() => /^session_id: /m.test(readFileSync(note, 'utf8')), 'the session id in the note', 15_000);
  const lease = JSON.parse(readFileSync(join(vault, '.vaultrunner', 'leases', stateFileName('long')), 'utf8')) as { run?: { bodyAtStart?: string } };
  expect(lease.run?.bodyAtStart).toBe('Do the first thing.\n');
  expect(existsSync(join(vault, '.vaultrunner', 'tasks', stateFileName('long')))).toBe(false);
  first.child.kill('SIGKILL');
  await first.exited;
  process.kill(-run.pid, 'SIGKILL'); // the agent's whole group goes too: nothing left to wait for
  await waitFor(() => !isAlive(run.pid) || isZombie(run.pid), 'the agent gone', 10_000);
  appendFileSync(note, '\nAlso do the second thing.\n');
  const second = spawnService([], { cwd: root, env: env(0) });
  try {
    await waitFor(() => existsSync(join(vault, 'Done', 'long.md')), 'resumed and done', 30_000);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
  const resumed = readFileSync(join(prompts, 'long-2.txt'), 'utf8');
  expect(resumed).toMatch(/^Continue the task where you left off/);
  expect(resumed).toContain('Also do the second thing.');
  expect(resumed).not.toContain('Do the first thing.'); // only what was added, not the whole body again
  expect(readFileSync(join(vault, 'Done', 'long.md'), 'utf8')).toMatch(/^session_id: "?fixture-session-1"?$/m);
}, 90_000);
