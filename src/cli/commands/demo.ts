// `vaultrunner demo [dir] [--reset]`: create the bundled demo vault, or restore it exactly after
// a run moved its notes along. Only a vault carrying the demo marker is ever wiped, and never
// while a service holds its lock (we hold the lock ourselves while resetting).
import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { VaultrunnerError } from '../../errors.js';
import { DEMO_FILES, DEMO_MARKER } from '../../vault/bundled.js';
import { vaultPaths } from '../../vault/layout.js';
import { acquireServiceLock, LockHeldError } from '../../vault/service-lock.js';
import type { Command } from '../command.js';
import { configFor } from '../load-config.js';

/** Kept on reset: Obsidian's own settings and UI state for the vault (only templates.json is ours). */
const KEEP_TOP = new Set(['.obsidian']);

async function entries(dir: string): Promise<string[] | undefined> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

async function writeDemo(root: string): Promise<void> {
  for (const [rel, text] of Object.entries(DEMO_FILES)) {
    const path = join(root, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'create the bundled demo vault, or --reset it to exactly as shipped',
  usage: 'demo [dir] [--reset]',
  help: [
    'Without --reset: writes the demo vault (example tasks, template) into dir (default: --vault,',
    `VAULT_DIR, else ./vault) when it is missing or empty. --reset restores a demo vault exactly:`,
    'Needs_Action/, Plans/, Done/, Pending_Approval/, Logs/, Dashboard.md and .vaultrunner/ state',
    `go back to as shipped. Only a vault with the ${DEMO_MARKER} marker file is reset, and not while`,
    "a service runs on it (stop it first). Obsidian's own .obsidian/ settings are kept.",
  ].join('\n'),
  options: { reset: { type: 'boolean' } },
  positionals: [0, 1],
  async run(ctx) {
    const { io } = ctx;
    const root = ctx.positionals[0] ? resolve(io.cwd, ctx.positionals[0]) : configFor(ctx).vaultDir;
    const shown = relative(io.cwd, root) || root;
    const names = await entries(root);
    if (!names || names.length === 0) {
      await writeDemo(root);
      io.stdout.write(`demo vault ready at ${shown}; run it with: vaultrunner start --vault ${shown}\n`);
      return 0;
    }
    if (!names.includes(DEMO_MARKER)) {
      throw new VaultrunnerError('EDIT_REFUSED', `${root} is not the demo vault (no ${DEMO_MARKER} file); demo --reset never wipes another vault`);
    }
    if (!ctx.values.reset) {
      io.stdout.write(`${shown} is already a demo vault; 'vaultrunner demo --reset' restores it as shipped\n`);
      return 0;
    }
    const paths = vaultPaths(root);
    let lock;
    try {
      lock = await acquireServiceLock(paths.lock);
    } catch (err) {
      if (err instanceof LockHeldError) throw new VaultrunnerError('LOCK_HELD', `cannot reset the demo while a service runs on it (pid ${err.holder.owner.pid} on ${err.holder.owner.host}); stop it first`);
      throw err;
    }
    try {
      for (const name of names) {
        if (KEEP_TOP.has(name) || name === '.vaultrunner') continue;
        await rm(join(root, name), { recursive: true, force: true });
      }
      for (const name of (await entries(paths.state)) ?? []) {
        if (join(paths.state, name) !== paths.lock) await rm(join(paths.state, name), { recursive: true, force: true });
      }
      await writeDemo(root);
    } finally {
      await lock.release();
    }
    // Empty now unless a service started in the meantime: then its state stays.
    await rmdir(paths.state).catch(() => undefined);
    io.stdout.write(`demo vault at ${shown} restored as shipped\n`);
    return 0;
  },
};
