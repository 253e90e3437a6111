// `vaultrunner start` as a new user meets it: no vault → the init hint.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initVault } from '../../src/vault/init-vault.js';
import { vaultPaths } from '../../src/vault/layout.js';
import { inspectLock } from '../../src/vault/service-lock.js';
import { cleanEnv, runCli } from '../helpers/cli-process.js';
import { waitUntil } from '../helpers/cli-vault.js';

const ROOT = join(import.meta.dirname, '..', '..');
let root: string;
const orphans: number[] = [];
afterEach(() => {
  for (const pid of orphans.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('vaultrunner start', () => {
  it('refuses a folder without a vault with the init hint, and creates nothing', () => {
    root = mkdtempSync(join(tmpdir(), 'vr-start-'));
    const r = runCli(['start'], { cwd: root, env: { COMMAND_AGENTS: '{}' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`vaultrunner: no vault at ${join(root, 'vault')} (Needs_Action/ is missing); create one with 'vaultrunner init ${join(root, 'vault')}' or pass --vault <dir>`);
    expect(existsSync(join(root, 'vault'))).toBe(false);
    const list = runCli(['list'], { cwd: root });
    expect(list.stderr).toContain("'vaultrunner init");
  });
});
