// Which git directory a checkout's git commands use, taken from the repository, never from the
// checkout itself. Git finds its directory through the checkout's own `.git` (a folder, or a file
// saying `gitdir: …`), which the agent can rewrite: pointed at a git dir of its own making, whose
// config names a filter driver (with a `.gitattributes` beside it), our `git add -A` would run any
// command it chose, outside every agent sandbox. So before we run git in a tree an agent had,
// its `.git` must still lead where the repository says, and (in place, where `.git/config` is in
// the agent's reach) the config git reads must be what it was before the run.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { WorkspaceError } from './errors.js';
import { realish } from './paths.js';
import { git } from './git.js';


/**
 * The git dir of the checkout at `root` as the repository whose common dir is `commonDir` records
 * it: the common dir itself for its main checkout, `<commonDir>/worktrees/<id>` for a linked one
 * (the one whose `gitdir` file names `<root>/.git`). Throws GIT_DIR_CHANGED when neither.
 */
export async function recordedGitDir(commonDir: string, root: string): Promise<string> {
  const common = await realish(commonDir);
  const top = await realish(root);
  // The main checkout: `<top>/.git` itself, or (a submodule, --separate-git-dir) a `.git` that
  // leads to the common dir, which holds no `commondir` of its own.
  if (basename(common) === '.git' && (await realish(dirname(common))) === top) return common;
  if ((await pointedGitDir(root)) === common) return common;
  const admin = join(common, 'worktrees');
  const ids = await readdir(admin).catch(() => [] as string[]);
  for (const id of ids) {
    const named = (await readFile(join(admin, id, 'gitdir'), 'utf8').catch(() => '')).trim();
    // Relative with worktree.useRelativePaths (git 2.48+): from the admin dir.
    if (named && (await realish(dirname(resolve(join(admin, id), named)))) === top) return join(admin, id);
  }
  throw new WorkspaceError('GIT_DIR_CHANGED', `${root} is not a checkout of the repository at ${dirname(common)} any more; nothing was run there`);
}

/** Where `<root>/.git` leads now: the folder itself, or the target of its `gitdir:` line. */
async function pointedGitDir(root: string): Promise<string | undefined> {
  const dotGit = join(root, '.git');
  const st = await lstat(dotGit).catch(() => undefined);
  if (!st) return undefined;
  if (st.isDirectory() || st.isSymbolicLink()) return realish(dotGit);
  if (!st.isFile() || st.size > 4096) return undefined;
  const m = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'));
  if (!m) return undefined;
  const target = m[1]!.trim();
  return realish(isAbsolute(target) ? target : resolve(root, target));
}

/** The digest assertGitDirIntact compares: taken before the agent runs in a person's checkout. */
export async function gitConfigDigest(root: string, commonDir: string): Promise<string> {
  return configDigest(await recordedGitDir(commonDir, root), await realish(commonDir));
}

/**
 * What in the git dir could make our git run a command, as one digest: the config keys that name
 * commands or other files (filters, diff and merge drivers, hooks, fsmonitor, ssh, includes,
 * credential helpers, …), `info/attributes`, and the `commondir`/`gitdir` files that redirect git
 * to another folder. Other config (a remote or an upstream the agent set with `git push -u`, a
 * user name) may change during a run.
 */
async function configDigest(gitDir: string, commonDir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of [join(commonDir, 'config'), join(gitDir, 'config.worktree')]) {
    h.update(f).update('\0');
    if (!existsSync(f)) h.update('(none)');
    else {
      const r = await git(['config', '--file', f, '--null', '--list'], { cwd: tmpdir(), okExitCodes: [1, 3, 128] });
      // Unparsable: the whole file counts (git would refuse it too).
      if (r.exitCode !== 0) h.update(await readFile(f).catch(() => '(unreadable)'));
      else for (const entry of r.stdout.split('\0').filter((e) => RISKY_KEY.test(e)).sort()) h.update(entry).update('\0');
    }
    h.update('\0');
  }
  for (const f of [join(commonDir, 'info', 'attributes'), join(gitDir, 'commondir'), join(gitDir, 'gitdir')]) {
    h.update(f).update('\0').update((await readFile(f).catch(() => undefined)) ?? '(none)').update('\0');
  }
  return h.digest('hex');
}

/** Config keys (as `git config --list` prints them: lower-case section and name) that can run a
 *  command or pull in another file. */
const RISKY_KEY = /^(?:include\.|includeif\.|filter\.|diff\.|merge\.|credential\.|gpg\.|ssh\.|protocol\.|url\.|uploadpack\.|receive\.|extensions\.|core\.(?:fsmonitor|hookspath|sshcommand|gitproxy|askpass|pager|editor|attributesfile|worktree|alternaterefscommand|repositoryformatversion|bare)|remote\.[^\n]*\.(?:uploadpack|receivepack|proxy|vcs)|sequence\.editor|interactive\.difffilter)/i;

/**
 * Refuse (GIT_DIR_CHANGED, touching nothing) when the checkout's `.git` no longer leads to its
 * recorded git dir, or when `digest` (taken before the agent ran) no longer matches its config.
 */
export async function assertGitDirIntact(root: string, commonDir: string, digest?: string): Promise<void> {
  const recorded = await recordedGitDir(commonDir, root);
  const pointed = await pointedGitDir(root);
  if (pointed !== (await realish(recorded))) {
    throw new WorkspaceError('GIT_DIR_CHANGED', `${join(root, '.git')} no longer leads to the repository's own git dir (${recorded}): it was changed during the run; nothing was committed, the folder is kept as it is`);
  }
  if (digest !== undefined && (await configDigest(recorded, await realish(commonDir))) !== digest) {
    throw new WorkspaceError('GIT_DIR_CHANGED', `the git config of ${root} (${join(commonDir, 'config')}) was changed during the run; nothing was committed (git would run what it names). Look at the change, undo it, then retry the task`);
  }
}

/**
 * The environment for a git command in a task's worktree (`git status` before a merge or a
 * removal): its recorded git dir and the tree itself, so what the tree's own `.git` says is never
 * followed. `repoRoot` is the person's checkout, which the agent did not work in.
 */
export async function pinnedGitEnv(repoRoot: string, worktree: string): Promise<Record<string, string>> {
  const common = resolve(repoRoot, (await git(['rev-parse', '--git-common-dir'], { cwd: repoRoot })).stdout.trim());
  return { GIT_DIR: await recordedGitDir(common, worktree), GIT_WORK_TREE: await realish(worktree) };
}
