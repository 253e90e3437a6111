// Which git directory a checkout's git commands use, taken from the repository, never from the
// checkout itself. Git finds its directory through the checkout's own `.git` (a folder, or a file
// saying `gitdir: …`), which the agent can rewrite: pointed at a git dir of its own making, whose
// config names a filter driver (with a `.gitattributes` beside it), our `git add -A` would run any
// command it chose, outside every agent sandbox. So before we run git in a tree an agent had,
// its `.git` must still lead where the repository says, and (in place, where `.git/config` is in
// the agent's reach) the config git reads must be what it was before the run.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { WorkspaceError } from './errors.js';
import { git } from './git.js';

const realish = (p: string) => realpath(p).catch(() => resolve(p));

/**
 * The git dir of the checkout at `root` as the repository whose common dir is `commonDir` records
 * it: the common dir itself for its main checkout, `<commonDir>/worktrees/<id>` for a linked one
 * (the one whose `gitdir` file names `<root>/.git`). Throws GIT_DIR_CHANGED when neither.
 */
export async function recordedGitDir(commonDir: string, root: string): Promise<string> {
  const common = await realish(commonDir);
  const top = await realish(root);
  if (basename(common) === '.git' && (await realish(dirname(common))) === top) return common;
  const admin = join(common, 'worktrees');
  const ids = await readdir(admin).catch(() => [] as string[]);
  for (const id of ids) {
    const named = (await readFile(join(admin, id, 'gitdir'), 'utf8').catch(() => '')).trim();
    if (named && (await realish(dirname(named))) === top) return join(admin, id);
  }
  throw new WorkspaceError('GIT_DIR_CHANGED', `${root} is not a checkout of the repository at ${dirname(common)} any more; nothing was run there`);
}

/** Where `<root>/.git` leads now: the folder itself, or the target of its `gitdir:` line. */
async function pointedGitDir(root: string): Promise<string | undefined> {
  const dotGit = join(root, '.git');
  const st = await lstat(dotGit).catch(() => undefined);
  if (!st) return undefined;
  if (st.isDirectory()) return realish(dotGit);
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

/** The config files git reads for `gitDir` (besides the person's global one), as one digest. */
async function configDigest(gitDir: string, commonDir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of [join(commonDir, 'config'), join(gitDir, 'config.worktree'), join(commonDir, 'info', 'attributes')]) {
    h.update(f).update('\0').update((await readFile(f).catch(() => undefined)) ?? '(none)').update('\0');
  }
  return h.digest('hex');
}

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
