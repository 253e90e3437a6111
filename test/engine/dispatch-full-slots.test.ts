// With every slot taken, a dispatch pass keeps the verdicts of tasks whose note did not change
// (a queue of N tasks cost O(N) on every pass, and a pass follows every plan and every run's end),
// and a pass judging every task still follows within about a second, so a reason that changed
// without its note (here: a dependency that appears in Done/) is shown soon.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Readiness } from '../../src/domain/readiness.js';
import { createHarness, eventsFrom, nextEvent, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

describe('dispatch with every slot taken', () => {
  it('keeps unchanged verdicts between passes, and judges every task again within a second', async () => {
    h = createHarness({ AGENT: 'hang', MAX_CONCURRENT: '1', EXECUTOR_INTERVAL: '100ms', TASK_TIMEOUT: '5m' });
    await h.start();
    const running = nextEvent(h.events, 'run:start', (e) => e.taskId === 'busy');
    h.drop('busy', 'type: claude_code\nstatus: planned');
    await running;
    // Blocked by a task that does not exist yet: a problem, reported once into its note.
    h.drop('waits', 'type: claude_code\nstatus: planned\nblocked_by: [later]');
    const seen = (await eventsFrom(h.events, 'dispatch:pass', 8, (e) => e.verdicts.get('waits')?.kind === 'problem', 10_000)).map((e) => e.verdicts.get('waits')!);
    // The same verdict object from one pass to the next: kept, not judged again.
    expect(seen.some((v, i) => i > 0 && v === seen[i - 1])).toBe(true);
    // And judged again now and then (a new object), though the note is unchanged.
    expect(new Set(seen).size).toBeGreaterThan(1);

    // The dependency appears, done, in Done/: no event touches `waits`, only a full pass sees it.
    writeFileSync(join(h.vault, 'Done', 'later.md'), '---\ntype: claude_code\nstatus: done\n---\nDone elsewhere.\n');
    const t0 = Date.now();
    const pass = await nextEvent(h.events, 'dispatch:pass', (e) => e.verdicts.get('waits')?.kind === 'waiting', 5_000);
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(pass.verdicts.get('waits')).toEqual<Readiness>({ kind: 'waiting', reason: { kind: 'slot', running: 1, max: 1 } });
    expect(h.status('busy')).toBe('executing');
  });
});
