// An agent planner runs under the same machinery as a task attempt: a planner orphaned by kill -9
// of the service is found by its run marker and stopped when the service starts again.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, isZombie } from '../../src/os/process.js';
import { initVault } from '../../src/vault/init-vault.js';
import { spawnService } from '../helpers/cli-process.js';
import { fixtureAgent, parseRunLog, waitFor } from '../helpers/vault-harness.js';
import { stateFileName } from '../../src/vault/state-key.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

const alive = (pid: number) => isAlive(pid) && !isZombie(pid);

describe('agent planner and crashes', () => {
  it('a planner left running by kill -9 of the service is stopped on restart, and the task is planned again', async () => {
    root = mkdtempSync(join(tmpdir(), 'vr-plan-crash-'));
    const vault = join(root, 'vault');
    const runLog = join(root, 'runs.log');
    writeFileSync(runLog, '');
    await initVault(vault, { examples: false });
    const env = (sleepMs: number): NodeJS.ProcessEnv => ({
      VAULT_DIR: vault,
      PLANNER: 'agent',
      AGENT: 'session',
      COMMAND_AGENTS: JSON.stringify({ session: fixtureAgent('session') }),
      WATCHDOG_INTERVAL: '200ms',
      LEASE_TTL: '3s',
      KILL_GRACE: '300ms',
      FIXTURE_LOG: runLog,
      FIXTURE_SLEEP_MS: String(sleepMs),
    });
    writeFileSync(join(vault, 'Needs_Action', 'slow-plan.md'), '---\ntype: claude_code\n---\nPlan me slowly.\n');
    const first = spawnService([], { cwd: root, env: env(60_000) });
    const planner = await waitFor(() => parseRunLog(runLog).find((r) => r.task === 'slow-plan' && r.attempt === 0), 'planner started', 30_000);
    expect(existsSync(join(vault, '.vaultrunner', 'leases', stateFileName('slow-plan')))).toBe(true); // it holds a lease
    first.child.kill('SIGKILL');
    await first.exited;
    expect(alive(planner.pid)).toBe(true); // orphaned: its service is gone
    const second = spawnService([], { cwd: root, env: env(0) });
    try {
      await waitFor(() => !alive(planner.pid), 'orphaned planner stopped', 20_000);
      await waitFor(() => existsSync(join(vault, 'Done', 'slow-plan.md')), 'planned again, run and done', 30_000);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    expect(second.output()).toMatch(/killing orphaned planner process group/);
    const runs = parseRunLog(runLog).filter((r) => r.task === 'slow-plan');
    expect(runs.map((r) => r.attempt)).toEqual([0, 0, 1]);
    expect(runs[0]!.end).toBeDefined(); // stopped (SIGTERM handler logged its end) …
    expect(runs[0]!.end!).toBeLessThanOrEqual(runs[1]!.start); // … before the new planner started
  }, 90_000);
});
