// Issue 15 item 12: children that leave the agent's process group (setsid) are stopped at every
// run's end, found by the run marker in their environment.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/os/process.js';
import { initVault } from '../../src/vault/init-vault.js';
import { createHarness, fixtureAgent, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
const pids: number[] = [];
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  for (const p of pids.splice(0)) if (isAlive(p)) process.kill(p, 'SIGKILL'); // only ours, by id
});

describe('setsid children (issue 15 item 12)', () => {
  for (const [name, fm, env, status] of [
    ['normal exit', 'type: claude_code\nstatus: planned', {}, 'done'],
    ['timeout', 'type: claude_code\nstatus: planned\ntimeout: 1s\nmax_attempts: 1', { FIXTURE_HANG: '1' }, 'failed'],
  ] as const) {
    it(`a child that setsid'd out of the agent's group is stopped at the run's end (${name})`, async () => {
      const pidDir = join(process.env.TMPDIR ?? '/tmp', `vr-setsid-${process.pid}-${Date.now()}`);
      mkdirSync(pidDir, { recursive: true });
      h = createHarness({ AGENT: 'setsid', COMMAND_AGENTS: JSON.stringify({ setsid: fixtureAgent('setsid-child') }) }, { agentEnv: { FIXTURE_PID_DIR: pidDir, ...env } });
      await initVault(h.vault, { examples: false });
      h.drop('leaver', fm);
      await h.start();
      const pid = await waitFor(() => { try { return Number(readFileSync(join(pidDir, 'leaver.pid'), 'utf8')); } catch { return 0; } }, 'the child pid');
      pids.push(pid);
      await waitFor(() => h.status('leaver') === status, `leaver ${status}`, 20_000);
      await waitFor(() => !isAlive(pid), 'the setsid child is gone');
      expect(isAlive(pid)).toBe(false);
    });
  }
});
