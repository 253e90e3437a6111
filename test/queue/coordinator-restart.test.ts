// A coordinator that goes away mid-run and comes back re-attaches to the same job and reads its
// stream on from the saved cursor: every transcript entry arrives once, and the outcome is applied.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src/agents/agent.js';
import { createFileCursorStore } from '../../src/queue/file-cursor-store.js';
import { runKeys } from '../../src/queue/job.js';
import { leaseCheck } from '../../src/queue/lease-check.js';
import { RemoteDispatcher } from '../../src/queue/remote-dispatcher.js';
import { parseEntries } from '../../src/queue/run-stream.js';
import { QueueHarness } from './helpers/queue-harness.js';

let h: QueueHarness | undefined;
let second: RemoteDispatcher | undefined;
afterEach(async () => {
  await second?.close();
  second = undefined;
  await h?.dispose();
  h = undefined;
});

describe('coordinator restart', () => {
  it('re-attaches to a run in flight and loses or repeats no transcript entry', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const w = h.spawnWorker('alpha');
    await w.waitFor(/takes scripted runs/);
    const job = await h.claim('restart-1', { sleepMs: 2500, file: 'restart-1.txt' });
    const before: AgentEvent[] = [];
    let gotSome!: () => void;
    const some = new Promise<void>((r) => (gotSome = r));
    const run1 = h.dispatcher.dispatch(job, { onEvent: (e) => (before.push(e), before.length >= 5 && gotSome()) });
    await some;
    await run1.stop('shutdown'); // detaches only: the remote run goes on
    await h.dispatcher.close();
    // The agent goes on working while no coordinator listens.
    await h.waitForAgent((e) => e.kind === 'end' && e.task === 'restart-1');

    second = new RemoteDispatcher({ url: h.redis.url, logger: h.logger, leases: leaseCheck(h.leases), cursors: createFileCursorStore(join(h.root, 'cursors')), blockMs: 200, statePollMs: 500 });
    const after: AgentEvent[] = [];
    const run2 = second.dispatch(job, { onEvent: (e) => after.push(e) });
    expect(run2.id).toBe(run1.id);
    const o = await run2.outcome;
    expect(o.ok, JSON.stringify(o)).toBe(true);

    // Everything the worker streamed, exactly once across both coordinators.
    const client = new Redis(h.redis.url);
    const all = parseEntries((await client.xrange(runKeys(second.prefix, run2.id).stream, '-', '+')) as Array<[string, string[]]>).filter((e) => e.kind === 'event');
    client.disconnect();
    expect(after.length).toBeGreaterThan(0);
    expect([...before, ...after]).toEqual(all.map((e) => e.data));
    // And the agent ran once.
    expect(h.agentLog().filter((e) => e.kind === 'start').length).toBe(1);
  });
});
