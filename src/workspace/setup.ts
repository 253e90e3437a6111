// The operator's SETUP command (e.g. ["npm","ci"]), run once in a fresh worktree before the agent.
// Done is remembered inside the worktree's own git admin folder (never in the files the agent sees
// or commits), so a resume or retry does not run it again, while a crash during setup does.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from './git.js';
import { runCommand, type CommandResult, type RunCommandOptions } from './run-command.js';

const MARKER = 'vaultrunner-setup-done';

export interface SetupOptions extends Omit<RunCommandOptions, 'name' | 'argv' | 'cwd'> {
  /** The worktree's top folder (setup runs there, not in a subfolder). */
  root: string;
  argv: readonly string[];
}

export type SetupOutcome = { ran: false; reason: 'none' | 'done-before' } | { ran: true; result: CommandResult };

/** Run SETUP in the worktree unless the same argv already succeeded there. */
export async function runSetup(opts: SetupOptions): Promise<SetupOutcome> {
  if (opts.argv.length === 0) return { ran: false, reason: 'none' };
  const marker = join(await adminDir(opts.root), MARKER);
  const want = JSON.stringify(opts.argv);
  if ((await readFile(marker, 'utf8').catch(() => undefined)) === want) return { ran: false, reason: 'done-before' };
  await rm(marker, { force: true });
  const result = await runCommand({ ...opts, name: 'setup', argv: opts.argv, cwd: opts.root });
  if (result.ok) await writeFile(marker, want);
  return { ran: true, result };
}

/** The worktree's private git folder (`<repo>/.git/worktrees/<name>`). */
async function adminDir(root: string): Promise<string> {
  return (await git(['rev-parse', '--absolute-git-dir'], { cwd: root })).stdout.trim();
}
