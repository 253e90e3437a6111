// A worker's simple workspace: one cached bare clone per remote under the work dir, a git worktree
// per run on the task's branch, commit + push back. (The workspace module replaces this later.)
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { KeyedQueue } from '../vault/keyed-queue.js';
import type { RunJob } from './job.js';
import type { HandBack, PreparedWorkspace, WorkspacePort } from './ports.js';

export interface GitWorkspaceOptions {
  workdir: string;
  /** Base environment for git (the worker's, for its credentials); prompts are always off. */
  env: NodeJS.ProcessEnv;
  author?: { name: string; email: string };
}

export class GitError extends Error {}

export function createGitWorkspace(opts: GitWorkspaceOptions): WorkspacePort {
  const perRepo = new KeyedQueue();
  const env = { ...opts.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', LC_ALL: 'C' };
  const author = opts.author ?? { name: 'vaultrunner worker', email: 'worker@vaultrunner.local' };
  const git = async (args: string[], cwd?: string): Promise<string> => {
    const r = await execa('git', args, { cwd, env, extendEnv: false, reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new GitError(`git ${args[0]} failed: ${String(r.stderr).trim().split('\n').slice(-2).join(' ') || `exit ${r.exitCode}`}`);
    return String(r.stdout).trim();
  };
  const mirrors = new Map<string, string>(); // worktree dir -> its bare clone
  const mirrorOf = (url: string) => join(resolve(opts.workdir), 'repos', `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`);

  return {
    async prepare(job: RunJob, runId: string): Promise<PreparedWorkspace> {
      const mirror = mirrorOf(job.repoUrl);
      const dir = join(resolve(opts.workdir), 'runs', runId);
      // One fetch / worktree change at a time per repository: git locks would fail the others.
      const start = await perRepo.run(mirror, async () => {
        if (!existsSync(join(mirror, 'HEAD'))) {
          await mkdir(join(opts.workdir, 'repos'), { recursive: true });
          await git(['clone', '--bare', '--quiet', '--', job.repoUrl, mirror]);
        }
        await git(['fetch', '--quiet', '--prune', 'origin', '+refs/heads/*:refs/remotes/origin/*'], mirror);
        // The branch may already hold earlier attempts' work; else it starts at the base commit.
        const remoteTip = await git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${job.branch}^{commit}`], mirror).catch(() => '');
        const startAt = remoteTip || (await git(['rev-parse', '--verify', `${job.baseCommit}^{commit}`], mirror).catch(() => {
          throw new GitError(`base commit ${job.baseCommit} is not in ${job.repoUrl}`);
        }));
        if (existsSync(dir)) {
          await git(['worktree', 'remove', '--force', dir], mirror).catch(() => undefined);
          await rm(dir, { recursive: true, force: true });
        }
        await git(['worktree', 'prune'], mirror);
        await mkdir(join(opts.workdir, 'runs'), { recursive: true });
        await git(['worktree', 'add', '--quiet', '--force', '-B', job.branch, dir, startAt], mirror);
        return startAt;
      });
      mirrors.set(dir, mirror);
      return { cwd: dir, branch: job.branch, startCommit: start };
    },

    async handBack(job: RunJob, ws: PreparedWorkspace, message: string): Promise<HandBack> {
      let headCommit: string | undefined;
      try {
        await git(['add', '-A'], ws.cwd);
        const dirty = await git(['status', '--porcelain'], ws.cwd);
        if (dirty) await git(['-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`, 'commit', '--quiet', '--no-verify', '-m', message], ws.cwd);
        headCommit = await git(['rev-parse', 'HEAD'], ws.cwd);
        // Fast-forward only: a stale worker's push cannot overwrite a newer attempt's branch.
        await git(['push', '--quiet', '--', 'origin', `HEAD:refs/heads/${job.branch}`], ws.cwd);
        return { headCommit, pushed: true };
      } catch (err) {
        return { headCommit, pushed: false, error: (err as Error).message };
      }
    },

    async cleanup(ws: PreparedWorkspace, keep: boolean): Promise<void> {
      if (keep) return;
      const mirror = mirrors.get(ws.cwd);
      mirrors.delete(ws.cwd);
      if (mirror) await perRepo.run(mirror, () => git(['worktree', 'remove', '--force', ws.cwd], mirror).catch(() => undefined));
      await rm(ws.cwd, { recursive: true, force: true });
    },
  };
}
