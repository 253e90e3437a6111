// Issue 15 items 7 and 11: every directory an agent runs in is checked on its real path (the
// scratch folder included), and one-run-per-directory compares real paths.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initVault } from '../../src/vault/init-vault.js';
import { concurrency, createHarness, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

describe('directories an agent runs in (issue 15 items 7, 11)', () => {
  it('a scratch folder replaced by a symlink (out of the vault, or to another vault folder) is refused; the agent never runs there', async () => {
    h = createHarness({ ORCHESTRATOR_AUTORUN: 'false' });
    await initVault(h.vault, { examples: false });
    const outside = join(h.root, 'elsewhere'); // inside WORKSPACE_ROOTS, outside the vault
    mkdirSync(outside);
    mkdirSync(join(h.vault, '.vaultrunner', 'work'), { recursive: true });
    symlinkSync(outside, join(h.vault, '.vaultrunner', 'work', 'scratch-out'));
    symlinkSync(join(h.vault, 'Templates'), join(h.vault, '.vaultrunner', 'work', 'scratch-in'));
    h.drop('scratch-out', 'type: claude_code\nstatus: planned');
    h.drop('scratch-in', 'type: claude_code\nstatus: planned');
    await h.start();
    for (const id of ['scratch-out', 'scratch-in']) await waitFor(() => h.status(id) === 'failed', `${id} refused`);
    expect(h.find('scratch-out')!.text).toMatch(/error: .*UNSAFE_PATH/);
    expect(h.find('scratch-in')!.text).toMatch(/error: .*WORKSPACE_DENIED.*symbolic link/);
    expect(h.runs()).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(h.vault, 'Templates', 'RESULT.md'))).toBe(false);
  });

  it('two notes naming one folder by two paths (a symlink alias) never run at once', async () => {
    h = createHarness({ ORCHESTRATOR_AUTORUN: 'false', MAX_CONCURRENT: '2' }, { agentEnv: { FIXTURE_SLEEP_MS: '400' } });
    await initVault(h.vault, { examples: false });
    const real = join(h.root, 'repo');
    mkdirSync(real);
    symlinkSync(real, join(h.root, 'alias'));
    h.drop('by-real', `type: claude_code\nstatus: planned\nworking_dir: ${real}`);
    h.drop('by-alias', `type: claude_code\nstatus: planned\nworking_dir: ${join(h.root, 'alias')}`);
    await h.start();
    for (const id of ['by-real', 'by-alias']) await waitFor(() => h.status(id) === 'done', `${id} done`, 20_000);
    const runs = h.runs();
    expect(runs.map((r) => r.task).sort()).toEqual(['by-alias', 'by-real']);
    expect(concurrency(runs).peak).toBe(1);
  });
});
