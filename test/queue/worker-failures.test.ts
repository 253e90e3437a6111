// What a worker or Redis going away mid-run does: the run finishes exactly once, never twice at once.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src/agents/agent.js';
import { alive, QueueHarness, until } from './helpers/queue-harness.js';

let h: QueueHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

describe('remote runs survive failures', () => {
  it('kill -9 of a worker mid-run: the run finishes once, on the other worker, resuming the session, with no overlap', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const a = h.spawnWorker('alpha');
    const b = h.spawnWorker('beta');
    await Promise.all([a.waitFor(/takes scripted runs/), b.waitFor(/takes scripted runs/)]);
    const job = await h.claim('crash-1', { sleepMs: 3000, file: 'crash-1.txt' });
    const events: AgentEvent[] = [];
    let sawInit!: () => void;
    const initSeen = new Promise<void>((r) => (sawInit = r));
    const run = h.dispatcher.dispatch(job, { onEvent: (e) => (events.push(e), e.kind === 'init' && sawInit()) });
    const first = await h.waitForAgent((e) => e.kind === 'start' && e.task === 'crash-1');
    await initSeen; // the session id is in Redis: the next delivery can resume it
    const victim = first.worker === 'alpha' ? a : b;
    const other = victim === a ? b : a;
    victim.child.kill('SIGKILL');
    await victim.exited;
    // The reaper ends the dead worker's agent (its own process group) at once.
    await until(() => !alive(first.pid), `the killed worker's agent (pid ${first.pid}) to be gone`);

    const o = await run.outcome;
    expect(o.ok, JSON.stringify(o)).toBe(true);
    expect(o.remote?.worker).toMatch(new RegExp(`:${other.child.pid}$`));
    expect(o.remote?.pushed).toBe(true);

    const log = h.agentLog().filter((e) => e.task === 'crash-1');
    const starts = log.filter((e) => e.kind === 'start');
    const ends = log.filter((e) => e.kind === 'end');
    expect(starts.map((s) => s.worker)).toEqual([victim.name, other.name]);
    expect(ends.map((e) => e.worker)).toEqual([other.name]);
    // The second delivery resumed the session the first agent reported.
    expect(starts[1]!.resume).toBe(`sess-crash-1-${first.pid}`);
    // No overlap: the first agent's last sign of life precedes the second agent's start.
    const lastOfFirst = Math.max(...log.filter((e) => e.pid === first.pid).map((e) => e.at));
    expect(starts[1]!.at).toBeGreaterThan(lastOfFirst);
    expect(h.showFile('vr/crash-1', 'crash-1.txt')).toBe('crash-1 was here');
    // The transcript shows both deliveries' sessions, and nothing after the second one's end.
    expect(events.filter((e) => e.kind === 'init').length).toBe(2);
  });

  it('SIGTERM to a worker: it stops taking runs, stops its agent after the grace and reports it stopped (retryable)', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const w = h.spawnWorker('alpha');
    await w.waitFor(/takes scripted runs/);
    const run = h.dispatcher.dispatch(await h.claim('term-1', { sleepMs: 20_000 }), {});
    const started = await h.waitForAgent((e) => e.kind === 'start' && e.task === 'term-1');
    w.child.kill('SIGTERM');
    const o = await run.outcome;
    expect(o.ok).toBe(false);
    expect(!o.ok && o.error.code).toBe('AGENT_STOPPED');
    expect(!o.ok && o.error.retryable).toBe(true);
    await w.exited;
    expect(w.child.exitCode).toBe(0);
    expect(alive(started.pid)).toBe(false);
    expect(h.agentLog().some((e) => e.kind === 'end')).toBe(false);
  });

  it('Redis restarted empty mid-run (the run is lost there): the agent is stopped, so it never runs beside the retry', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const w = h.spawnWorker('alpha');
    await w.waitFor(/takes scripted runs/);
    const run = h.dispatcher.dispatch(await h.claim('flushed', { sleepMs: 60_000 }), {});
    const started = await h.waitForAgent((e) => e.kind === 'start' && e.task === 'flushed');
    const client = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    await client.flushall();
    client.disconnect();
    await w.waitFor(/run flushed\.a1\.[0-9a-f]+: no longer this delivery's/);
    await until(() => !alive(started.pid), 'the agent stopped');
    expect(h.agentLog().some((e) => e.kind === 'end' && e.task === 'flushed')).toBe(false);
    await run.stop('cancel', 1000).catch(() => undefined);
  });

  it('Redis stopped and restarted: a started run reports when it is back; a new dispatch waits for it', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    // A lock that outlives the outage: the job stays with this worker.
    const w = h.spawnWorker('alpha', { WORKER_LOCK_TTL: '60s' });
    await w.waitFor(/takes scripted runs/);
    const job = await h.claim('outage-1', { sleepMs: 1500, file: 'outage-1.txt' });
    const run = h.dispatcher.dispatch(job, {});
    await h.waitForAgent((e) => e.kind === 'start' && e.task === 'outage-1');
    await h.redis.stop();
    await h.logger.waitFor(/Redis at .* is unreachable/);
    // The agent finishes while Redis is away.
    await h.waitForAgent((e) => e.kind === 'end' && e.task === 'outage-1');
    // And a dispatch made now waits instead of failing.
    const job2 = await h.claim('outage-2', { sleepMs: 100, file: 'outage-2.txt' });
    const run2 = h.dispatcher.dispatch(job2, {});
    await h.redis.restart();
    const [o1, o2] = await Promise.all([run.outcome, run2.outcome]);
    expect(o1.ok, JSON.stringify(o1)).toBe(true);
    expect(o1.remote?.pushed).toBe(true);
    expect(o2.ok, JSON.stringify(o2)).toBe(true);
    await h.logger.waitFor(/Redis at .* is back/);
    // One line per outage, not a storm; the worker said so once as well.
    expect(h.logger.count(/is unreachable/)).toBe(1);
    expect(w.output().match(/is unreachable/g)?.length).toBe(1);
    // Each ran once.
    expect(h.agentLog().filter((e) => e.kind === 'start').map((e) => e.task)).toEqual(['outage-1', 'outage-2']);
    expect(h.showFile('vr/outage-1', 'outage-1.txt')).toBe('outage-1 was here');
  });
});
