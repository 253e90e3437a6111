// Remote runs end to end: a coordinator-side RemoteDispatcher, two real worker processes, a real
// redis-server and a bare git remote. Every wait is on a fact (a log line, a stream entry, a file).
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src/agents/agent.js';
import { Redis } from 'ioredis';
import { queueName, runKeys } from '../../src/queue/job.js';
import { QueueHarness } from './helpers/queue-harness.js';

let h: QueueHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

describe('remote runs through BullMQ', () => {
  it('spreads runs over two workers; every run succeeds, streams its transcript and pushes its branch', { timeout: 150_000 }, async () => {
    h = await QueueHarness.create();
    const a = h.spawnWorker('alpha', {}, ['--concurrency', '2']);
    const b = h.spawnWorker('beta', {}, ['--concurrency', '2']);
    await Promise.all([a.waitFor(/takes scripted runs/), b.waitFor(/takes scripted runs/)]);
    const ids = Array.from({ length: 6 }, (_, i) => `spread-${i + 1}`);
    const events = new Map<string, AgentEvent[]>();
    const runs = await Promise.all(
      ids.map(async (id) => {
        const job = await h!.claim(id, { sleepMs: 300, file: `${id}.txt` }, { gates: ['has_file'] });
        events.set(id, []);
        return h!.dispatcher.dispatch(job, { onEvent: (e) => events.get(id)!.push(e) });
      }),
    );
    // Dispatching the same claim again adds nothing: the job id is derived from it.
    const again = h.dispatcher.dispatch(await reclaimJob(h, 'spread-1'), {});
    expect(again.id).toBe(runs[0]!.id);

    const outcomes = await Promise.all(runs.map((r) => r.outcome));
    for (const [i, o] of outcomes.entries()) {
      expect(o.ok, JSON.stringify(o)).toBe(true);
      expect(o.remote?.pushed).toBe(true);
      expect(o.remote?.gates?.map((g) => [g.name, g.ok])).toEqual([['has_file', true]]);
      expect(o.result).toBe(`did ${ids[i]}`);
    }
    await again.outcome; // the duplicate follows the same job and gets the same result
    // Both workers took runs.
    const workers = new Set(h.agentLog().filter((e) => e.kind === 'start').map((e) => e.worker));
    expect(workers).toEqual(new Set(['alpha', 'beta']));
    // Each ran exactly once.
    expect(h.agentLog().filter((e) => e.kind === 'start').length).toBe(ids.length);
    // Branches are on the remote with the agent's work committed.
    const branches = h.remoteBranches();
    for (const [i, id] of ids.entries()) {
      expect(branches.get(`vr/${id}`)).toBe(outcomes[i]!.remote?.headCommit);
      expect(h.showFile(`vr/${id}`, `${id}.txt`)).toBe(`${id} was here`);
      // The transcript came back: the session, then the agent's text lines.
      const evs = events.get(id)!;
      expect(evs[0]).toMatchObject({ kind: 'init' });
      expect(evs.some((e) => e.kind === 'text' && e.text === `working on ${id}`)).toBe(true);
    }
    // Once the outcome is journaled, forget() drops the run's job, stream and cursor.
    const client = new Redis(h.redis.url);
    const keys = runKeys(h.dispatcher.prefix, runs[1]!.id);
    expect(await client.exists(keys.stream, keys.meta)).toBe(2);
    await h.dispatcher.forget(runs[1]!.id, 'scripted');
    expect(await client.exists(keys.stream, keys.meta)).toBe(0);
    expect(await client.exists(`${h.dispatcher.prefix}:${queueName('scripted')}:${runs[1]!.id}`)).toBe(0);
    expect(await client.exists(`${h.dispatcher.prefix}:${queueName('scripted')}:${runs[2]!.id}`)).toBe(1);
    client.disconnect();
  });
});

async function reclaimJob(h: QueueHarness, taskId: string) {
  const lease = (await h.leases.get(taskId))!;
  return { v: 1 as const, taskId, attempt: 1, leaseToken: lease.token, agent: 'scripted', permissionMode: 'acceptEdits' as const, prompt: '{}', timeoutMs: 60_000, repoUrl: h.remote, baseCommit: h.baseCommit, branch: `vr/${taskId}` };
}
