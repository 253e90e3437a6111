// Real git repositories in temp folders, and a byte-level snapshot of a person's checkout
// (HEAD, refs, index and every working-tree file) to prove we left it alone.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { realpathSync } from 'node:fs';

export const ID_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 'Person',
  GIT_AUTHOR_EMAIL: 'person@example.com',
  GIT_COMMITTER_NAME: 'Person',
  GIT_COMMITTER_EMAIL: 'person@example.com',
};

/** Plain git, as the person (or the test) would run it; returns trimmed stdout. */
export function sh(cwd: string, ...args: string[]): string {
  const env = { ...process.env, ...ID_ENV };
  for (const k of Object.keys(env)) if (k.startsWith('GIT_') && !(k in ID_ENV)) delete env[k];
  return execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface Sandbox {
  root: string;
  repo: string;
  vault: string;
  worktrees: string;
  cleanup(): void;
}

/** A temp folder with a repository (`main`, two commits), a vault folder and a worktrees folder. */
export function sandbox(files: Record<string, string> = { 'README.md': 'hello\n', 'src/app.js': 'console.log(1);\n' }): Sandbox {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-ws-')));
  const repo = join(root, 'repo');
  const vault = join(root, 'vault');
  mkdirSync(repo);
  mkdirSync(vault);
  sh(repo, 'init', '-q', '-b', 'main');
  writeFiles(repo, files);
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'first');
  writeFiles(repo, { 'CHANGELOG.md': '# log\n' });
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'second');
  return { root, repo, vault, worktrees: join(root, 'worktrees'), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
}

/** Hashes of HEAD, packed/loose refs of the branch, the index file and every file outside .git. */
export function snapshot(repo: string): Record<string, string> {
  const h = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');
  const out: Record<string, string> = {
    HEAD: readFileSync(join(repo, '.git', 'HEAD'), 'utf8'),
    index: h(readFileSync(join(repo, '.git', 'index'))),
    'rev:HEAD': sh(repo, 'rev-parse', 'HEAD'),
  };
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.name === '.git' && dir === repo) continue;
      if (e.isDirectory()) walk(p);
      else out[`file:${relative(repo, p)}`] = h(readFileSync(p));
    }
  };
  walk(repo);
  return out;
}

/** A repository (made if missing) on `main` with one commit of `files` (a README by default):
 *  what pre-flight asks of a repository before any agent runs in it. Returns its real path. */
export function gitRepoWithCommit(repo: string, files: Record<string, string> = { 'README.md': 'test repository\n' }): string {
  mkdirSync(repo, { recursive: true });
  writeFiles(repo, files);
  sh(repo, 'init', '-q', '-b', 'main');
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'first');
  return realpathSync(repo);
}

/** A frontmatter value as the note's text shows it (quotes stripped). */
export const noteField = (text: string, key: string) => new RegExp(`^${key}: *"?([^"\\n]*)"?$`, 'm').exec(text)?.[1];

/** Plain git that must fail (a conflicting rebase or merge stops with exit 1): returns its output. */
export function gitFails(cwd: string, ...args: string[]): string {
  try {
    sh(cwd, ...args);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  throw new Error(`git ${args.join(' ')} was expected to fail in ${cwd}`);
}

/** A branch `name` off the checked-out branch changing README.md one way, and a commit on the
 *  checked-out branch changing it another: rebasing onto, or merging, `name` then stops on a conflict. */
export function conflictingBranch(repo: string, name: string): void {
  const current = sh(repo, 'symbolic-ref', '--short', 'HEAD');
  sh(repo, 'checkout', '-q', '-b', name);
  writeFiles(repo, { 'README.md': `the ${name} version\n` });
  sh(repo, 'commit', '-q', '-am', `${name} edits README`);
  sh(repo, 'checkout', '-q', current);
  writeFiles(repo, { 'README.md': 'the person’s version\n' });
  sh(repo, 'commit', '-q', '-am', 'person edits README');
}
