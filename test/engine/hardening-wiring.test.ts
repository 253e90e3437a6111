// Issue 15 wiring: the vault's safe-open rules reach the running service. A symlinked folder out of
// the vault is refused at start-up, a FIFO Dashboard.md never blocks updates, each transcript shows
// its prompt, and one task's unsafe run folder fails that task alone.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initVault } from '../../src/vault/init-vault.js';
import { createHarness, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

describe('issue 15 wiring', () => {
  it('refuses to start when a vault or state folder is a symlink leading out of the vault, naming it', async () => {
    for (const rel of ['Done', join('.vaultrunner', 'leases')]) {
      h?.cleanup();
      h = createHarness();
      const outside = join(h.root, 'outside');
      mkdirSync(outside);
      mkdirSync(join(h.vault, '.vaultrunner'), { recursive: true });
      symlinkSync(outside, join(h.vault, rel));
      const err = await h.start().then(() => undefined, (e: unknown) => e as Error & { code?: string });
      expect(err?.code, rel).toBe('UNSAFE_PATH');
      expect(err?.message).toContain(rel);
      expect(readdirSync(outside)).toEqual([]);
    }
  });

  it('a FIFO Dashboard.md never blocks updates: it is replaced by a regular file', async () => {
    h = createHarness({ ORCHESTRATOR_AUTORUN: 'false', EXECUTOR_AUTORUN: 'false' });
    await initVault(h.vault, { examples: false });
    const dash = join(h.vault, 'Dashboard.md');
    execFileSync('mkfifo', [dash]);
    h.drop('listed', 'type: claude_code\nstatus: planned');
    const svc = await h.start();
    await svc.dashboard.flush();
    expect(lstatSync(dash).isFile()).toBe(true);
    expect(readFileSync(dash, 'utf8')).toContain('listed');
  });

  it("each attempt's transcript shows the prompt in a collapsed callout", async () => {
    h = createHarness();
    await initVault(h.vault, { examples: false });
    h.drop('prompted', 'type: claude_code\nstatus: planned', 'Paint the fence blue-7731.\n');
    await h.start();
    await waitFor(() => h.status('prompted') === 'done', 'prompted is done');
    const md = readFileSync(join(h.vault, 'Logs', 'runs', 'prompted', 'attempt-1.md'), 'utf8');
    expect(md).toMatch(/^> \[!note\]- Prompt/m);
    expect(md).toMatch(/^> .*Paint the fence blue-7731\./m);
  });

  it("a task whose run folder is a symlink out of the vault fails alone; the task next to it still runs", async () => {
    h = createHarness({ ORCHESTRATOR_AUTORUN: 'false' });
    await initVault(h.vault, { examples: false });
    const outside = join(h.root, 'outside');
    mkdirSync(outside);
    mkdirSync(join(h.vault, 'Logs', 'runs'), { recursive: true });
    symlinkSync(outside, join(h.vault, 'Logs', 'runs', 'aaa-planted'));
    // The planted one comes first in dispatch order.
    h.drop('aaa-planted', 'type: claude_code\nstatus: planned\npriority: urgent');
    h.drop('zzz-normal', 'type: claude_code\nstatus: planned\npriority: low');
    await h.start();
    await waitFor(() => h.status('zzz-normal') === 'done', 'the normal task is done');
    await waitFor(() => h.status('aaa-planted') === 'failed', 'the planted task failed');
    expect(h.find('aaa-planted')!.text).toMatch(/error: .*UNSAFE_PATH/);
    expect(readdirSync(outside)).toEqual([]);
    expect(h.runs().map((r) => r.task)).toEqual(['zzz-normal']);
    expect(existsSync(join(h.vault, 'Logs', 'runs', 'zzz-normal', 'attempt-1.md'))).toBe(true);
  });
});
