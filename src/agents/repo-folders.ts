// Which folders of a run's repository an agent CLI reads its own files from: from the run's folder
// up to the repository's top (the first folder with a `.git`), the way both gemini and opencode look.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** `cwd` and each folder above it up to the repository's top; outside a repository, up to
 *  `outside === 'root'` the filesystem's root, else `cwd` alone. */
export function repositoryFolders(cwd: string, outside: 'root' | 'cwd'): string[] {
  const start = resolve(cwd);
  const folders: string[] = [];
  for (let dir = start; ; dir = dirname(dir)) {
    folders.push(dir);
    if (existsSync(join(dir, '.git'))) return folders;
    if (dirname(dir) === dir) return outside === 'root' ? folders : [start];
  }
}
