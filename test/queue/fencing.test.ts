// Fencing: a result counts only from the current delivery and under the lease that dispatched it;
// and nothing in a job widens what a worker runs.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { DEFAULT_PREFIX, queueName, runKeys } from '../../src/queue/job.js';
import { withRunScripts } from '../../src/queue/run-stream.js';
import { QueueHarness } from './helpers/queue-harness.js';

let h: QueueHarness | undefined;
let client: Redis | undefined;
afterEach(async () => {
  client?.disconnect();
  client = undefined;
  await h?.dispose();
  h = undefined;
});

describe('fencing and clamping of remote runs', () => {
  it('refuses results under an old lease, with a foreign fencing token, or from a replaced delivery', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const w = h.spawnWorker('alpha', {}, ['--concurrency', '2']);
    await w.waitFor(/takes scripted runs/);
    client = new Redis(h.redis.url, { maxRetriesPerRequest: null });

    // 1. The task was re-claimed while the worker ran (a new lease): the late result is refused.
    const job1 = await h.claim('fence-1', { sleepMs: 800, file: 'fence-1.txt' });
    const run1 = h.dispatcher.dispatch(job1, {});
    await h.waitForAgent((e) => e.kind === 'start' && e.task === 'fence-1');
    await h.leases.forceRemove('fence-1');
    const newer = await h.leases.acquire('fence-1', 2);
    expect(newer?.token).not.toBe(job1.leaseToken);
    const o1 = await run1.outcome;
    expect(o1.ok).toBe(false);
    expect(o1.remote?.refused).toBe('stale-lease');
    expect(!o1.ok && o1.error.retryable).toBe(false);
    await h.logger.waitFor(/refused a result for run .*: its fencing token is no longer the current lease/);

    // 2. In a live run's stream: an outcome with another lease token, and one from a delivery that
    //    is not the current one, are both refused; the worker's own result is accepted.
    const job2 = await h.claim('fence-2', { sleepMs: 1500, file: 'fence-2.txt' });
    let delivery!: string;
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const run2 = h.dispatcher.dispatch(job2, { onStart: (i) => ((delivery = i.delivery), started()) });
    await isStarted;
    const keys = runKeys(h.dispatcher.prefix, run2.id);
    const forged = (leaseToken: string) => JSON.stringify({ leaseToken, worker: 'impostor', ok: true, permissionDenials: [], exitCode: 0 });
    await client.xadd(keys.stream, '*', 'k', 'outcome', 'd', delivery, 'j', forged('0123456789abcdef'));
    await h.logger.waitFor(/refused a result for run .*: its fencing token is not the one this run was dispatched with/);
    await client.xadd(keys.stream, '*', 'k', 'outcome', 'd', 'an-older-delivery', 'j', forged(job2.leaseToken));
    await h.logger.waitFor(/refused a result for run .*: not from the current delivery/);
    // The worker-side fence: Redis itself refuses an outcome from a delivery that is not current.
    expect(await withRunScripts(client).vrOutcome(keys.stream, keys.meta, 'an-older-delivery', forged(job2.leaseToken))).toBe('stale');
    const o2 = await run2.outcome;
    expect(o2.ok, JSON.stringify(o2)).toBe(true);
    expect(o2.remote?.worker).not.toBe('impostor');
    expect(o2.remote?.worker).toMatch(new RegExp(`:${w.child.pid}$`));
    // A second outcome for the same run can no longer be written at all.
    expect(await withRunScripts(client).vrOutcome(keys.stream, keys.meta, delivery, forged(job2.leaseToken))).toBe('done');
  });

  it('stop(cancel) from the coordinator: the worker stops the agent and reports it stopped', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const w = h.spawnWorker('alpha');
    await w.waitFor(/takes scripted runs/);
    const run = h.dispatcher.dispatch(await h.claim('cancel-1', { sleepMs: 20_000 }), {});
    const started = await h.waitForAgent((e) => e.kind === 'start' && e.task === 'cancel-1');
    await run.stop('cancel', 1000);
    const o = await run.outcome;
    expect(o.ok).toBe(false);
    expect(!o.ok && o.error.code).toBe('AGENT_STOPPED');
    expect(!o.ok && o.error.message).toMatch(/cancel/);
    expect(!o.ok && o.error.retryable).toBe(false);
    expect(h.agentLog().some((e) => e.kind === 'end')).toBe(false);
    await w.waitFor(/reported failure \(AGENT_STOPPED\)/);
    expect(started.pid).toBeGreaterThan(0);
  });

  it('a job cannot widen what the worker runs: permission above its ceiling, an unknown gate, a foreign remote', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const w = h.spawnWorker('alpha', { PERMISSION_MODE: 'default', WORKER_REMOTES: `${h.remote} /nowhere/else` }, ['--concurrency', '3']);
    await w.waitFor(/takes scripted runs/);
    const above = h.dispatcher.dispatch(await h.claim('wide-1', { sleepMs: 0 }, { permissionMode: 'acceptEdits' }), {});
    const gate = h.dispatcher.dispatch(await h.claim('wide-2', { sleepMs: 0 }, { permissionMode: 'plan', gates: ['rm_rf'] }), {});
    const remote = h.dispatcher.dispatch(await h.claim('wide-3', { sleepMs: 0 }, { permissionMode: 'plan', repoUrl: `${h.root}/other.git` }), {});
    const ok = h.dispatcher.dispatch(await h.claim('wide-4', { sleepMs: 0, file: 'wide-4.txt' }, { permissionMode: 'plan' }), {});
    // Inside the allowed prefix by its text, out of it once git resolves the `..`.
    const dots = h.dispatcher.dispatch(await h.claim('wide-5', { sleepMs: 0 }, { permissionMode: 'plan', repoUrl: `${h.remote}/../other.git` }), {});
    const [o1, o2, o3, o4, o5] = await Promise.all([above.outcome, gate.outcome, remote.outcome, ok.outcome, dots.outcome]);
    for (const [o, why] of [
      [o1, /above the operator's ceiling "default"/],
      [o2, /has no gate\(s\) rm_rf/],
      [o3, /does not clone from/],
      [o5, /does not clone from/],
    ] as const) {
      expect(o.ok).toBe(false);
      expect(!o.ok && o.error.code).toBe('PERMISSION_DENIED');
      expect(!o.ok && o.error.message).toMatch(why);
      expect(!o.ok && o.error.retryable).toBe(false);
    }
    expect(o4.ok, JSON.stringify(o4)).toBe(true);
    // Only the allowed job's agent ever started.
    expect(h.agentLog().filter((e) => e.kind === 'start').map((e) => e.task)).toEqual(['wide-4']);
  });

  it('a job whose id is not its own run id is refused before any folder is touched; gates get no keys', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const gates = { show_env: [process.execPath, '-e', 'console.log("keys:" + [process.env.ANTHROPIC_API_KEY, process.env.OPENAI_API_KEY].join(","))'] };
    const w = h.spawnWorker('alpha', { ANTHROPIC_API_KEY: 'sk-ant-SECRETKEY', OPENAI_API_KEY: 'sk-openai-SECRETKEY', GATES: JSON.stringify(gates) });
    await w.waitFor(/takes scripted runs/);
    // A folder beside the worker's, which a job id of `../../victim` would name.
    const victim = join(h.root, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'precious.txt'), 'keep me');
    client = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName('scripted'), { connection: client, prefix: DEFAULT_PREFIX });
    const forged = await h.claim('forged', { sleepMs: 0, file: 'forged.txt' });
    await queue.add('forged', forged, { jobId: '../../victim' });
    await w.waitFor(/run \.\.\/\.\.\/victim: reported failure \(PERMISSION_DENIED\)/);
    expect(readFileSync(join(victim, 'precious.txt'), 'utf8')).toBe('keep me');
    expect(h.agentLog().some((e) => e.task === 'forged')).toBe(false);
    await queue.close();
    // A real run with a gate: it passes, and its output (which reaches the review note) holds no key.
    const o = await h.dispatcher.dispatch(await h.claim('gated', { sleepMs: 0, file: 'gated.txt' }, { gates: ['show_env'] }), {}).outcome;
    expect(o.ok, JSON.stringify(o)).toBe(true);
    const tail = o.ok ? (o as { remote?: { gates?: { tail: string }[] } }).remote?.gates?.[0]?.tail : '';
    expect(tail).toContain('keys:');
    expect(tail).not.toContain('SECRETKEY');
  });
});
