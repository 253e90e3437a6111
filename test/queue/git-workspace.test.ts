// A worker's checkout, after its agent: the hand-back's add, commit and push run git there, so the
// tree's `.git` must still lead to the worker's own mirror. An agent that repointed it at a git
// dir of its own making (config naming a filter driver) gets nothing run and nothing pushed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitWorkspace } from '../../src/queue/git-workspace.js';
import type { RunJob } from '../../src/queue/job.js';
import { fixtureAgent } from '../helpers/vault-harness.js';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe("a worker's hand-back", () => {
  it('refuses a checkout whose .git the agent repointed: the planted filter never runs, nothing is pushed', async () => {
    root = mkdtempSync(join(tmpdir(), 'vr-gitws-'));
    const seed = join(root, 'seed');
    mkdirSync(seed);
    git(seed, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(seed, 'README.md'), 'hello\n');
    git(seed, 'add', '-A');
    git(seed, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'seed');
    const origin = join(root, 'origin.git');
    git(root, 'clone', '--quiet', '--bare', seed, origin);
    const base = git(seed, 'rev-parse', 'HEAD');
    const ws = createGitWorkspace({ workdir: join(root, 'work'), env: process.env });
    const job = { v: 1, taskId: 't', attempt: 1, leaseToken: 'tok-1234', agent: 'a', permissionMode: 'acceptEdits', prompt: 'x', timeoutMs: 60_000, repoUrl: origin, baseCommit: base, branch: 'vr/t', gates: [] } as unknown as RunJob;
    const prepared = await ws.prepare(job, 'run-1');
    const marker = join(root, 'filter-ran');
    const [node, script] = fixtureAgent('git-tamper');
    execFileSync(node!, [script!], { cwd: prepared.cwd, input: '', env: { ...process.env, FIXTURE_TAMPER: 'gitdir', FIXTURE_TAMPER_MARKER: marker } });
    const back = await ws.handBack(job, prepared, 'the work');
    expect(existsSync(marker)).toBe(false);
    expect(back.pushed).toBe(false);
    expect(back.error).toMatch(/no longer leads to the repository's own git dir/);
    expect(git(origin, 'branch', '--list', 'vr/t')).toBe('');
  });
});
