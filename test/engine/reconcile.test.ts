// The service's reconcile repairs what file events missed: a real watcher that loses the events of
// some notes (as an overflowing inotify queue or a sync tool's odd writes would), a real vault, and
// the timer's passes counted by their events. The rotation is shrunk to 3 so a test sees it turn.
import { afterEach, describe, expect, it } from 'vitest';
import type { IndexEntry } from '../../src/vault/task-index.js';
import { createVaultWatcher } from '../../src/vault/watcher.js';
import { appendBody, createHarness, recordEvents, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

/** A real watcher, deaf to the notes in `deaf`; `rescan()` asks the service to rescan as it would. */
function lossyWatcher() {
  const deaf = new Set<string>();
  let onRescan: ((reason: string) => void) | undefined;
  const createWatcher: typeof createVaultWatcher = (opts) => {
    onRescan = opts.onRescan;
    return createVaultWatcher({ ...opts, onNote: (path) => (deaf.has(path) ? undefined : opts.onNote(path)) });
  };
  return { deaf, createWatcher, rescan: (reason: string) => onRescan!(reason) };
}

async function heldNotes(n: number, deaf: Set<string>): Promise<string[]> {
  const paths = Array.from({ length: n }, (_, i) => h.drop(`held-${i}`, 'type: claude_code\nstatus: paused'));
  await waitFor(() => paths.every((p) => h.service!.ctx.index.getPath(p)), 'held notes indexed');
  for (const p of paths) deaf.add(p); // their events are lost from now on
  return paths;
}

/** Each index change of these ids, with how many index passes had ended when it came. */
function changesOf(ids: string[], passes: { list: unknown[] }): { id: string; after: number }[] {
  const seen: { id: string; after: number }[] = [];
  h.service!.ctx.index.on('change', (e: IndexEntry) => {
    if (ids.includes(e.id)) seen.push({ id: e.id, after: passes.list.length });
  });
  return seen;
}

describe('the reconcile', () => {
  it('finds notes edited while their events were lost within `rotation` timer passes, a share each pass', async () => {
    const w = lossyWatcher();
    h = createHarness({ ORCHESTRATOR_INTERVAL: '100ms' }, { service: { index: { rotation: 3, checkAllBelow: 0 }, createWatcher: w.createWatcher } });
    const passes = recordEvents(h.events, 'index:pass');
    await h.start();
    const paths = await heldNotes(9, w.deaf);
    const ids = paths.map((_, i) => `held-${i}`);
    const seen = changesOf(ids, passes);
    await h.events.next('index:pass'); // just after a pass: the edits all land before the next one
    const before = passes.list.length;
    for (const p of paths) appendBody(p, 'Edited while nobody listened.');
    await waitFor(() => new Set(seen.map((s) => s.id)).size === 9, 'every edit found', 15_000);
    // Within three passes after the edits…
    expect(Math.max(...seen.map((s) => s.after)) - before).toBeLessThanOrEqual(3);
    // …and by passes that each checked a third: the edits were found in three different passes.
    expect(new Set(seen.map((s) => s.after)).size).toBe(3);
    expect(passes.list.slice(before).every((p) => !p.full)).toBe(true);
    const entry = h.service!.ctx.index.byId('held-4')!;
    expect(entry.state.kind === 'task' && entry.state.body).toContain('Edited while nobody listened.');
  });

  it('makes full passes at start and when the watcher asks for a rescan', async () => {
    const w = lossyWatcher();
    // The timer's passes are an hour away: only the start and the rescan look at the disk.
    h = createHarness({ ORCHESTRATOR_INTERVAL: '1h' }, { service: { index: { rotation: 3, checkAllBelow: 0 }, createWatcher: w.createWatcher } });
    const passes = recordEvents(h.events, 'index:pass');
    await h.start();
    await waitFor(() => passes.list.length >= 2, 'the passes of the start');
    expect(passes.list.map((p) => p.full)).toEqual([true, true]); // the first scan, and one once the watch runs
    const paths = await heldNotes(9, w.deaf);
    const seen = changesOf(paths.map((_, i) => `held-${i}`), passes);
    for (const p of paths) appendBody(p, 'Edited while nobody listened.');
    w.rescan('test: events may have been lost');
    await waitFor(() => passes.list.length >= 3, 'the rescan pass');
    expect(passes.list[2]).toMatchObject({ full: true, checked: 9 });
    expect(seen.map((s) => s.id).sort()).toEqual(paths.map((_, i) => `held-${i}`).sort());
    expect(seen.every((s) => s.after === 2)).toBe(true); // all found by that one pass
  });
});
