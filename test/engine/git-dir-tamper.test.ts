// An agent that can only write files must not get a command run by the service's own git: a tree
// whose `.git` was repointed (worktree mode) or whose `.git/config` grew a filter driver (in place)
// is refused before git runs there (GIT_DIR_CHANGED), and the filter's command never runs.
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, fixtureAgent, waitFor, type Harness } from '../helpers/vault-harness.js';
import { gitRepoWithCommit, noteField, sh } from '../workspace/repo-fixture.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  h = undefined;
});

describe("the service's git in a tree an agent wrote to", () => {
  it.each([
    ['worktree', 'gitdir'],
    ['in-place', 'config'],
    ['in-place', 'commondir'],
  ] as const)('WORKSPACE_MODE=%s, %s: a planted filter driver never runs; the task fails with GIT_DIR_CHANGED, nothing committed', async (mode, how) => {
    const opts: Parameters<typeof createHarness>[1] & object = {};
    h = createHarness({ AGENT: 'tamper', COMMAND_AGENTS: JSON.stringify({ tamper: fixtureAgent('git-tamper') }), WORKSPACE_MODE: mode, PERMISSION_MODE: 'acceptEdits' }, opts);
    const marker = join(h.root, 'filter-ran');
    opts.agentEnv = { FIXTURE_TAMPER: how, FIXTURE_TAMPER_MARKER: marker };
    const repo = gitRepoWithCommit(join(realpathSync(h.root), 'repo'), { 'README.md': 'hello\n' });
    const head = sh(repo, 'rev-parse', 'main');
    await h.start();
    h.drop('sneaky', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 1`);
    const failed = await waitFor(() => ['failed', 'in_review', 'done'].includes(h!.status('sneaky')!) && h!.find('sneaky')!.text, 'sneaky ended');
    expect(existsSync(marker)).toBe(false);
    expect(failed).toMatch(/^status: failed$/m);
    expect(failed).toMatch(how === 'gitdir' ? /^error: .*\.git no longer leads to the repository's own git dir/m : /^error: .*git config of .* was changed during the run/m);
    // The log line names the code (it may reach the file a moment after the note).
    expect(await waitFor(() => h!.logLines().find((l) => l.task === 'sneaky' && l.to === 'failed'), 'failed log line')).toMatchObject({ code: 'GIT_DIR_CHANGED' });
    expect(noteField(failed, 'head_commit')).toBeUndefined();
    expect(sh(repo, 'rev-parse', 'main')).toBe(head);
    if (mode === 'worktree') expect(sh(repo, 'rev-parse', 'vr/sneaky')).toBe(head);
  });

  it('in place, what an agent may well do to the config (a remote, a user name) does not stop the commit', async () => {
    const opts: Parameters<typeof createHarness>[1] & object = {};
    h = createHarness({ AGENT: 'tamper', COMMAND_AGENTS: JSON.stringify({ tamper: fixtureAgent('git-tamper') }), WORKSPACE_MODE: 'in-place', PERMISSION_MODE: 'acceptEdits' }, opts);
    opts.agentEnv = { FIXTURE_TAMPER: 'benign', FIXTURE_TAMPER_MARKER: join(h.root, 'unused') };
    const repo = gitRepoWithCommit(join(realpathSync(h.root), 'repo'), { 'README.md': 'hello\n' });
    const head = sh(repo, 'rev-parse', 'main');
    await h.start();
    h.drop('benign', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 1`);
    const done = await waitFor(() => h!.find('benign')?.folder === 'Done' && h!.find('benign')!.text, 'benign done');
    expect(done).toMatch(/^status: done$/m);
    expect(sh(repo, 'rev-parse', 'main^')).toBe(head); // its work committed on top
    expect(sh(repo, 'remote')).toBe('upstream');
  });
});
