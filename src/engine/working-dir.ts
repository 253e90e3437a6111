// Where a task runs. A note may name a working_dir, but only inside the operator's
// WORKSPACE_ROOTS; without one, the task gets a scratch folder inside .vaultrunner/.
import { lstat, realpath, stat } from '../os/quick-fs.js';
import { dirKey } from '../domain/dispatch.js';
import { ensureVaultDir } from '../os/safe-open.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Config } from '../config/config.js';
import { isInside } from '../domain/links.js';
import type { Task } from '../domain/task.js';
import { AgentError } from '../errors.js';
import type { VaultPaths } from '../vault/layout.js';

export { isInside };

/** The real, existing directory the task may run in; AgentError WORKSPACE_DENIED otherwise. */
export async function resolveWorkingDir(task: Task, config: Config, paths: VaultPaths): Promise<string> {
  if (!task.workingDir) return scratchDir(task.id, paths);
  const wanted = task.workingDir.replace(/^~(?=$|\/)/, process.env.HOME ?? '~');
  if (!isAbsolute(wanted)) {
    throw new AgentError('WORKSPACE_DENIED', `working_dir ${JSON.stringify(task.workingDir)} must be an absolute path inside WORKSPACE_ROOTS`);
  }
  let real: string;
  try {
    real = await realpath(resolve(wanted));
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new AgentError('WORKSPACE_DENIED', `working_dir ${JSON.stringify(task.workingDir)} is not an existing directory`, { cause: err });
  }
  // Symlinks are resolved first, so a link inside a root cannot point the agent outside it.
  for (const root of config.workspaceRoots) {
    const realRoot = await realpath(root).catch(() => undefined);
    if (realRoot && isInside(real, realRoot)) return real;
  }
  const roots = config.workspaceRoots.length ? config.workspaceRoots.join(', ') : '(none configured)';
  throw new AgentError('WORKSPACE_DENIED', `working_dir ${JSON.stringify(task.workingDir)} is outside WORKSPACE_ROOTS ${roots}`);
}

/**
 * Where the task will run, as its template plan names it. A working_dir is checked as for a run;
 * the scratch folder is only named: the run creates it and checks it then, so planning makes no
 * folder (a thread-pool round trip on every pickup).
 */
export async function workingDirForPlan(task: Task, config: Config, paths: VaultPaths): Promise<string> {
  if (task.workingDir) return resolveWorkingDir(task, config, paths);
  return join(await realpath(paths.root), relative(paths.root, paths.scratch), task.id);
}

/** The task's scratch folder: a real folder inside .vaultrunner/work/, never a link (to anywhere). */
async function scratchDir(id: string, paths: VaultPaths): Promise<string> {
  const dir = join(paths.scratch, id);
  const { linked } = await ensureVaultDir(paths.root, dir);
  const real = await realpath(dir);
  // No link from the vault down to it (checked just now): it is a real folder, nothing more to ask.
  if (linked && ((await lstat(dir)).isSymbolicLink() || real !== join(await realpath(paths.scratch), id))) {
    throw new AgentError('WORKSPACE_DENIED', `the scratch folder ${dir} is a symbolic link (to ${real}); vaultrunner runs agents only in a real folder there`);
  }
  return real;
}

/**
 * At spawn: the directory checked earlier is still that real directory (no component swapped for a
 * link since); the agent is then run in this resolved path.
 */
export async function recheckWorkingDir(cwd: string): Promise<string> {
  const real = await realpath(cwd).catch((err: unknown) => {
    throw new AgentError('WORKSPACE_DENIED', `working dir ${cwd} is gone`, { cause: err });
  });
  if (real !== cwd) throw new AgentError('WORKSPACE_DENIED', `working dir ${cwd} now leads to ${real} (a link was put in its path after it was checked); not run`);
  return real;
}

/** One-run-per-directory key on the real path: two spellings (a symlink alias) of a folder are one. */
export async function realDirKey(task: Pick<Task, 'id' | 'workingDir'>): Promise<string> {
  const key = dirKey(task);
  if (!task.workingDir) return key;
  const wanted = task.workingDir.replace(/^~(?=$|\/)/, process.env.HOME ?? '~');
  return isAbsolute(wanted) ? realpath(resolve(wanted)).catch(() => key) : key;
}
