// `vaultrunner demo`: a fresh demo vault is the one committed in vault/; after a real run moved
// its notes along, `demo --reset` restores it exactly, but never while a service holds the lock
// and never on a vault that is not the demo.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { committedVault, filesUnder } from '../helpers/cli-demo.js';
import { createCliVault, waitUntil, type CliVault } from '../helpers/cli-vault.js';

let v: CliVault;
beforeEach(() => {
  v = createCliVault({ env: { WATCHDOG_INTERVAL: '200ms', EXECUTOR_INTERVAL: '300ms' } });
});
afterEach(() => v.cleanup());

describe('vaultrunner demo', () => {
  it('after a real run, --reset restores the committed demo exactly; refused while the service runs', async () => {
    const demo = join(v.root, 'demo');
    const created = await v.runAsync(['demo', 'demo']);
    expect(created.code, created.stderr).toBe(0);
    expect(filesUnder(demo)).toEqual(committedVault());

    const svc = v.spawn(['start', '--vault', demo]);
    try {
      // Until every example has had its turn (the Claude one fails: no credentials), so no run
      // is starting when we stop the service.
      const settled = () => svc.stderr().includes('A task that waits: filed in Done') && /Ask Claude: executing → \w+/.test(svc.stderr()) && existsSync(join(demo, 'Pending_Approval', 'Needs approval.md'));
      await waitUntil(settled, 'the demo to run', 40_000);
      const refused = await v.runAsync(['demo', '--reset', '--vault', demo]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^vaultrunner: cannot reset the demo while a service runs on it \(pid \d+ on .*\); stop it first\n$/);
      expect(existsSync(join(demo, 'Done', 'Try the demo agent.md'))).toBe(true); // nothing touched
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
    const moved = filesUnder(demo);
    expect(Object.keys(moved).some((p) => p.startsWith('Plans/PLAN_'))).toBe(true);
    expect(Object.keys(moved).some((p) => p.startsWith('Logs/runs/'))).toBe(true);
    expect(existsSync(join(demo, '.vaultrunner'))).toBe(true);
    writeFileSync(join(demo, 'Needs_Action', 'mine.md'), '---\ntype: claude_code\n---\n');

    const reset = await v.runAsync(['demo', '--reset', '--vault', demo]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(filesUnder(demo)).toEqual(committedVault());
    expect(existsSync(join(demo, '.vaultrunner'))).toBe(false);
    expect(existsSync(join(demo, 'Dashboard.md'))).toBe(false);
  }, 90_000);

  it('never resets a vault that is not the demo; without --reset an existing demo is left alone', async () => {
    v.task('precious', 'type: claude_code');
    const [mine, fresh] = await Promise.all([v.runAsync(['demo', '--reset']), v.runAsync(['demo', 'd2'])]);
    expect(mine.code).toBe(1);
    expect(mine.stderr).toContain('is not the demo vault (no .vaultrunner-demo file); demo --reset never wipes another vault');
    expect(existsSync(v.path('Needs_Action/precious.md'))).toBe(true);
    expect(fresh.code).toBe(0);
    mkdirSync(join(v.root, 'd2', 'Done'), { recursive: true });
    writeFileSync(join(v.root, 'd2', 'Done', 'kept.md'), 'x');
    const again = await v.runAsync(['demo', 'd2']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already a demo vault; 'vaultrunner demo --reset' restores it");
    expect(existsSync(join(v.root, 'd2', 'Done', 'kept.md'))).toBe(true);
  });
});
