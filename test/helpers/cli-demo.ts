// The demo vault as committed to git (never the working copy's vault/, which `npm start` moves
// along), and a folder's files as a path → content map to compare it with.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** vault/ as git's index has it: vault-relative path → content. */
export function committedVault(): Record<string, string> {
  const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' });
  const out: Record<string, string> = {};
  for (const line of git('ls-files', '--stage', '-z', '--', 'vault').split('\0').filter(Boolean)) {
    const [meta, path] = line.split('\t') as [string, string];
    out[path.replace(/^vault\//, '')] = git('cat-file', 'blob', meta.split(' ')[1]!);
  }
  return out;
}

/** Every file under dir (recursively, dot-files included): relative path → content. */
export function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[relative(dir, join(e.parentPath, e.name))] = readFileSync(join(e.parentPath, e.name), 'utf8');
  }
  return out;
}
