// `vaultrunner start` and `npm start` as a new user meets them: no vault → the init hint, and
// the service never outlives `npm start` (SIGTERM to npm, or npm killed outright).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initVault } from '../../src/vault/init-vault.js';
import { vaultPaths } from '../../src/vault/layout.js';
import { inspectLock } from '../../src/vault/service-lock.js';
import { cleanEnv, runCli, spawnService } from '../helpers/cli-process.js';
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

describe('vaultrunner start, signalled while it starts', () => {
  it('a SIGTERM that arrives before the service is up stops it gracefully once it is', async () => {
    root = mkdtempSync(join(tmpdir(), 'vr-start-'));
    const vault = join(root, 'vault');
    await initVault(vault, { examples: false });
    const s = spawnService(['--vault', vault], { cwd: root, env: { COMMAND_AGENTS: '{}', HOME: root } });
    orphans.push(s.child.pid!);
    // The banner is printed just before the service starts (scan, watcher, lock): signal then.
    await waitUntil(() => s.output().includes('vaultrunner — vault'), 'the start banner', 20_000);
    s.child.kill('SIGTERM');
    const end = await s.exited;
    expect(end).toEqual({ code: 0, signal: null }); // not killed by the signal
    const out = s.output();
    expect(out).toContain('SIGTERM: shutting down');
    expect(out.indexOf('vaultrunner started')).toBeLessThan(out.indexOf('SIGTERM: shutting down'));
    expect(out).toContain('vaultrunner stopped');
    expect((await inspectLock(vaultPaths(vault).lock)).state).not.toBe('held');
  }, 40_000);
});

describe('npm start', () => {
  // npm runs the script from the repo; the vault and the .env are ours, in a temp dir.
  async function npmStart() {
    root = mkdtempSync(join(tmpdir(), 'vr-npm-'));
    const vault = join(root, 'vault');
    await initVault(vault, { examples: false });
    writeFileSync(join(root, '.env'), '');
    const env = { ...cleanEnv(), VAULT_DIR: vault, VAULTRUNNER_ENV: join(root, '.env'), COMMAND_AGENTS: '{}', HOME: root };
    const npm = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout.on('data', (d) => (out += String(d)));
    npm.stderr.on('data', (d) => (out += String(d)));
    const npmExited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    await waitUntil(() => out.includes('vaultrunner started'), `the service to start under npm (output: ${out})`, 20_000);
    const { info, state } = await inspectLock(vaultPaths(vault).lock);
    expect(state).toBe('held');
    const pid = info!.owner.pid;
    orphans.push(pid);
    expect(pid).not.toBe(npm.pid);
    return { npm, pid, npmExited, output: () => out };
  }

  it('SIGTERM to npm stops the service gracefully: no orphan with PPID 1', async () => {
    const s = await npmStart();
    s.npm.kill('SIGTERM');
    await s.npmExited;
    await waitUntil(() => !alive(s.pid), `service pid ${s.pid} to exit after npm got SIGTERM`, 10_000);
    expect(s.output()).toContain('SIGTERM: shutting down');
  }, 40_000);

  it('npm killed outright (SIGKILL): the service notices its parent is gone and shuts down', async () => {
    const s = await npmStart();
    s.npm.kill('SIGKILL');
    await s.npmExited;
    await waitUntil(() => !alive(s.pid), `service pid ${s.pid} to exit after npm was killed`, 10_000);
  }, 40_000);
});
