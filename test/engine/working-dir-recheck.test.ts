// Issue 15 item 10: a working_dir swapped for a link after the dispatch check (between validation
// and spawn) is refused at spawn, on the real path; the agent runs in the resolved real path.
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recheckWorkingDir, resolveWorkingDir } from '../../src/engine/working-dir.js';
import { AgentError } from '../../src/errors.js';
import { loadConfig } from '../../src/config/config.js';
import { vaultPaths } from '../../src/vault/layout.js';
import type { Task } from '../../src/domain/task.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the working dir is checked again at spawn', () => {
  it('refuses a folder swapped for a link out of the roots after the check, and runs in the resolved real path', async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-wd-')));
    const roots = join(root, 'roots');
    const outside = join(root, 'outside');
    mkdirSync(join(roots, 'real-app'), { recursive: true });
    mkdirSync(outside);
    // The note names the folder through a link inside the roots: the agent gets the real path.
    symlinkSync(join(roots, 'real-app'), join(roots, 'app'));
    const config = loadConfig({}, { VAULT_DIR: join(root, 'vault'), WORKSPACE_ROOTS: roots });
    const task = { id: 't', workingDir: join(roots, 'app') } as Task;
    const checked = await resolveWorkingDir(task, config, vaultPaths(join(root, 'vault')));
    expect(checked).toBe(join(roots, 'real-app'));
    expect(await recheckWorkingDir(checked)).toBe(join(roots, 'real-app'));

    // Between the check and the spawn the real folder is replaced by a link leading outside.
    renameSync(join(roots, 'real-app'), join(roots, 'moved-away'));
    symlinkSync(outside, join(roots, 'real-app'));
    const refused = await recheckWorkingDir(checked).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(AgentError);
    expect((refused as AgentError).code).toBe('WORKSPACE_DENIED');
    expect((refused as AgentError).message).toContain(`now leads to ${outside}`);

    // Gone altogether: refused too.
    rmSync(join(roots, 'real-app'));
    await expect(recheckWorkingDir(checked)).rejects.toMatchObject({ code: 'WORKSPACE_DENIED' });
  });
});
