// Issue 15 item 15: an editor saving an old copy of a note during a run never makes the service
// drop the finished outcome or run the task again; the person's copy and the outcome are both kept.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initVault } from '../../src/vault/init-vault.js';
import { createHarness, eventsFrom, nextEvent, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

describe('an old copy saved during a run (issue 15 item 15)', () => {
  it('records the finished run on the person’s copy instead of dropping it and running again', async () => {
    h = createHarness({ ORCHESTRATOR_AUTORUN: 'false' }, { agentEnv: { FIXTURE_SLEEP_MS: '1500' } });
    await initVault(h.vault, { examples: false });
    const path = h.drop('stale', 'type: claude_code\nstatus: planned\nreviewer: ana', 'Do the thing.\n');
    const old = readFileSync(path, 'utf8');
    const started = nextEvent(h.events, 'run:start', (e) => e.taskId === 'stale');
    await h.start();
    await started;
    await waitFor(() => h.status('stale') === 'executing', 'executing');
    // The editor writes back the copy it loaded before the run started.
    writeFileSync(join(h.vault, 'Needs_Action', '.stale.tmp'), old.replace('Do the thing.', 'Do the thing, carefully.'));
    renameSync(join(h.vault, 'Needs_Action', '.stale.tmp'), path);
    await waitFor(() => h.status('stale') === 'done', 'the finished run is recorded', 20_000);
    await eventsFrom(h.events, 'dispatch:pass', 2);
    const note = h.find('stale')!.text;
    expect(note).toContain('Do the thing, carefully.'); // the person's edit kept
    expect(note).toMatch(/^reviewer: ana$/m);
    expect(note).toMatch(/^attempts: 1$/m);
    expect(note).toContain('run_log: "[[Logs/runs/stale/attempt-1]]"');
    expect(h.runs().map((r) => r.task)).toEqual(['stale']);
    expect(readFileSync(join(h.vault, 'Logs', 'runs', 'stale', 'attempt-1.md'), 'utf8')).toContain('success');
  });
});
