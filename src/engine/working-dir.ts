// Where a task runs. A note may name a working_dir, but only inside the operator's
// WORKSPACE_ROOTS; without one, the task gets a scratch folder inside .vaultrunner/.
import { mkdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../config/config.js';
import { isInside } from '../domain/links.js';
import type { Task } from '../domain/task.js';
import { AgentError } from '../errors.js';
import type { VaultPaths } from '../vault/layout.js';

export { isInside };

/** The real, existing directory the task may run in; AgentError WORKSPACE_DENIED otherwise. */
export async function resolveWorkingDir(task: Task, config: Config, paths: VaultPaths): Promise<string> {
  if (!task.workingDir) {
    const dir = join(paths.scratch, task.id);
    await mkdir(dir, { recursive: true });
    return realpath(dir);
  }
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
