// A worker's workspace: one cached bare clone per remote under the work dir, a git worktree per run
// on the task's branch, commit + push back. Git runs through workspace/git.ts, the one place for git.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KeyedQueue } from '../vault/keyed-queue.js';
import { git as runGit } from '../workspace/git.js';
import { assertGitDirIntact } from '../workspace/git-dir.js';
import type { RunJob } from './job.js';
import { redactUrl } from './redact-url.js';
import type { HandBack, PreparedWorkspace, WorkspacePort } from './ports.js';

export interface GitWorkspaceOptions {
  workdir: string;
  /** Base environment for git (the worker's, for its credentials); prompts are always off. */
  env: NodeJS.ProcessEnv;
  author?: { name: string; email: string };
}

export class GitError extends Error {}

// What a push or fetch to the worker's remotes may need beyond git's own allow-list (gitEnv):
// an SSH agent or command, and proxies. Nothing else of the worker's environment reaches git.
const CREDENTIAL_ENV = ['SSH_AUTH_SOCK', 'SSH_AGENT_PID', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_CONFIG_GLOBAL', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

export function createGitWorkspace(opts: GitWorkspaceOptions): WorkspacePort {
  const perRepo = new KeyedQueue();
  const env: Record<string, string> = { GIT_ASKPASS: '' };
  for (const k of CREDENTIAL_ENV) if (opts.env[k] !== undefined) env[k] = opts.env[k]!;
  const author = opts.author ?? { name: 'vaultrunner worker', email: 'worker@vaultrunner.local' };
  const git = async (args: string[], cwd = resolve(opts.workdir)): Promise<string> => (await runGit(args, { cwd, env })).stdout.trim();
  const mirrors = new Map<string, string>(); // worktree dir -> its bare clone
  const mirrorOf = (url: string) => join(resolve(opts.workdir), 'repos', `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`);

  return {
    async prepare(job: RunJob, runId: string): Promise<PreparedWorkspace> {
      const mirror = mirrorOf(job.repoUrl);
      // A run id is one path segment (the worker checks it is the job's own); never a way out of runs/.
      if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(runId) || runId.includes('..')) throw new GitError(`run id ${JSON.stringify(runId.slice(0, 100))} is not a folder name`);
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
          throw new GitError(`base commit ${job.baseCommit} is not in ${redactUrl(job.repoUrl)}`);
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
        // The agent had this tree: its `.git` must still lead to the mirror's record of it, or a
        // git dir of the agent's making would choose what our add, commit and push run (git-dir.ts).
        await assertGitDirIntact(ws.cwd, mirrors.get(ws.cwd) ?? mirrorOf(job.repoUrl));
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
