// A stop lets the orchestrator's step under way end before the service lets the vault go, so it
// does not write after "vaultrunner stopped" (the lock released, another service free to start).
// The step here is the merge when a person accepts a reviewed task (`done`), held by a ref lock that git waits on (core.filesRefLockTimeout)
// until the test lets go of it, just as the stop begins.
import { readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, waitFor, type Harness } from '../helpers/vault-harness.js';
import { gitRepoWithCommit, noteField, sh } from '../workspace/repo-fixture.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  h = undefined;
});

/** A git process of ours waiting to update `ref` (its command line, read from /proc). */
function gitUpdating(ref: string): boolean {
  return readdirSync('/proc').some((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('update-ref') && argv.includes(ref);
    } catch {
      return false;
    }
  });
}

describe('stopping the service', () => {
  it('waits for a merge under way: the task is merged and filed before "vaultrunner stopped"', async () => {
    const writer = ['node', '-e', "require('fs').writeFileSync('NEW.md','new\\n');console.log(JSON.stringify({vaultrunner:'result',result:'Wrote NEW.md.'}))"];
    h = createHarness({ AGENT: 'writer', COMMAND_AGENTS: JSON.stringify({ writer }), MERGE: 'merge' });
    const repo = gitRepoWithCommit(join(realpathSync(h.root), 'repo'));
    // main checked out nowhere (the merge moves it with update-ref); git waits on a held ref lock.
    sh(repo, 'checkout', '-q', '--detach');
    sh(repo, 'config', 'core.filesRefLockTimeout', '60000');
    await h.start();
    const path = h.drop('merged', `type: claude_code\nworking_dir: ${repo}\nbase_branch: main\nrequires_review: true`);
    await waitFor(() => h!.status('merged') === 'in_review', 'in review', 30_000);
    // The person accepts: the orchestrator merges (and waits on the lock).
    const lock = join(repo, '.git', 'refs', 'heads', 'main.lock');
    writeFileSync(lock, '');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: in_review$/m, 'status: done'));
    await waitFor(() => gitUpdating('refs/heads/main'), 'the merge waiting on the ref lock', 30_000);
    const before = sh(repo, 'rev-parse', 'main');
    const stopping = h.service!.stop({ graceMs: 5000 });
    rmSync(lock); // git sees it gone at its next try (it backs off up to a second between tries)
    await stopping;
    // At once, with no wait: the merge and the filing ended inside the stop.
    const note = h.find('merged');
    expect(note?.folder).toBe('Done');
    expect(noteField(note!.text, 'merge_commit')).toBe(sh(repo, 'rev-parse', 'main'));
    expect(sh(repo, 'rev-parse', 'main')).not.toBe(before);
    expect(await h.service!.orchestrator.drain(0)).toBe(true);
    const lines = h.logLines();
    expect(lines.at(-1)?.msg).toBe('vaultrunner stopped');
    expect(lines.some((l) => /still under way/.test(String(l.msg)))).toBe(false);
  }, 60_000);
});
