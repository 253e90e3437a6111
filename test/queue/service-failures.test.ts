// Remote runs through the service when something dies: a worker (kill -9), the coordinator
// itself (kill -9, then a restart), Redis (stopped and started again). Each task still ends done,
// its agent ran once (or, after a worker died, once more on the other worker, never overlapping),
// and the service waits for Redis with one log line. Waits are on facts: agent log lines, notes,
// the service's output.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive } from './helpers/queue-harness.js';
import { RemoteService } from './helpers/remote-service.js';

let s: RemoteService | undefined;
afterEach(async () => {
  await s?.dispose();
  s = undefined;
});

describe('remote runs through the service, when something dies', () => {
  it('a worker killed with -9 mid-run: the task finishes once, on the other worker, resumed, never overlapping', { timeout: 150_000 }, async () => {
    s = await RemoteService.create();
    const a = s.q.spawnWorker('alpha');
    const b = s.q.spawnWorker('beta');
    await Promise.all([a.waitFor(/takes scripted runs/), b.waitFor(/takes scripted runs/)]);
    const service = s.startService();
    await service.waitFor(/vaultrunner started/);
    s.drop('victim', { sleepMs: 2500, file: 'victim.txt' });
    const first = await s.q.waitForAgent((e) => e.kind === 'tick' && e.task === 'victim');
    // The session reached the service (so it is in Redis for the next delivery to resume).
    await waitUntil(() => s!.field('victim', 'session_id') === `sess-victim-${first.pid}`, 'the session recorded in the note');
    const [dead, other] = first.worker === 'alpha' ? [a, b] : [b, a];
    dead.child.kill('SIGKILL');
    await s.waitDone(['victim']);

    const log = s.q.agentLog().filter((e) => e.task === 'victim');
    const starts = log.filter((e) => e.kind === 'start');
    expect(starts.map((e) => e.worker)).toEqual([dead.name, other.name]);
    // The second run resumed the session the first one reported.
    expect(starts[1]!.resume).toBe(`sess-victim-${starts[0]!.pid}`);
    // No overlap: the first agent's last line comes before the second one started; it is gone.
    const lastOfFirst = Math.max(...log.filter((e) => e.pid === starts[0]!.pid).map((e) => e.at));
    expect(lastOfFirst).toBeLessThan(starts[1]!.at);
    expect(alive(starts[0]!.pid)).toBe(false);
    expect(log.filter((e) => e.kind === 'end').map((e) => e.worker)).toEqual([other.name]);
    // One attempt as far as the note is concerned, its branch from the surviving worker.
    expect(s.field('victim', 'attempts')).toBe('1');
    expect(s.field('victim', 'head_commit')).toBe(s.q.remoteBranches().get('vr/victim'));
    expect(s.localBranch('vr/victim')).toBe(s.field('victim', 'head_commit'));
  });

  it('the coordinator killed with -9 (then stopped with SIGTERM) mid-run: its runs go on, and after a restart each is recorded once', { timeout: 150_000 }, async () => {
    s = await RemoteService.create();
    // One worker, and a lock a loaded machine cannot let lapse: a run may only ever start once here.
    const w = s.q.spawnWorker('alpha', { WORKER_LOCK_TTL: '15s' });
    await w.waitFor(/takes scripted runs/);
    const first = s.startService();
    await first.waitFor(/vaultrunner started/);
    // One worker taking one run at a time: the second job waits in the queue while the first runs.
    s.drop('inflight-1', { sleepMs: 1500, file: 'inflight-1.txt' });
    s.drop('inflight-2', { sleepMs: 300, file: 'inflight-2.txt' });
    await first.waitFor(/inflight-1: dispatched/);
    await first.waitFor(/inflight-2: dispatched/);
    await s.q.waitForAgent((e) => e.kind === 'tick');
    first.child.kill('SIGKILL');
    await first.exited;
    // No coordinator now: the worker finishes both runs anyway.
    await s.q.waitForAgent((e) => e.kind === 'end' && e.task === 'inflight-1');
    await s.q.waitForAgent((e) => e.kind === 'end' && e.task === 'inflight-2');

    const second = s.startService();
    await second.waitFor(/vaultrunner started/);
    await s.waitDone(['inflight-1', 'inflight-2']);
    expect(second.count(/following its remote run .* again/)).toBe(2);
    for (const id of ['inflight-1', 'inflight-2']) {
      // Ran once: not put back by the watchdog, not dispatched as a new attempt.
      expect(s.q.agentLog().filter((e) => e.kind === 'start' && e.task === id)).toHaveLength(1);
      expect(s.field(id, 'attempts')).toBe('1');
      expect(s.field(id, 'head_commit')).toBe(s.q.remoteBranches().get(`vr/${id}`));
      const transcript = readFileSync(join(s.vault, 'Logs', 'runs', id, 'attempt-1.md'), 'utf8');
      expect(transcript).toContain('The service restarted during this remote run');
    }
    expect(second.output()).not.toMatch(/recovered stale lease|executing → planned/);

    // A graceful stop (SIGTERM) mid-run: the service stops following the run, does not stop it,
    // and the next start records it, once.
    s.drop('inflight-3', { sleepMs: 1500, file: 'inflight-3.txt' });
    await s.q.waitForAgent((e) => e.kind === 'tick' && e.task === 'inflight-3');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    const third = s.startService();
    await third.waitFor(/inflight-3: following its remote run .* again/);
    await s.waitDone(['inflight-3']);
    expect(s.q.agentLog().filter((e) => e.kind === 'start' && e.task === 'inflight-3')).toHaveLength(1);
    expect(s.q.agentLog().filter((e) => e.kind === 'end' && e.task === 'inflight-3')).toHaveLength(1);
    expect(s.field('inflight-3', 'attempts')).toBe('1');

    // Paused by a person while no service ran: the run followed again at the next start is stopped.
    s.drop('inflight-4', { sleepMs: 60_000, file: 'inflight-4.txt' });
    await s.q.waitForAgent((e) => e.kind === 'tick' && e.task === 'inflight-4');
    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
    const note = join(s.vault, 'Needs_Action', 'inflight-4.md');
    writeFileSync(note, readFileSync(note, 'utf8').replace(/^status: executing$/m, 'status: paused'));
    const fourth = s.startService();
    await fourth.waitFor(/inflight-4: stopping agent \(pause\)/);
    expect(s.field('inflight-4', 'status')).toBe('paused');
    expect(s.q.agentLog().filter((e) => e.kind === 'end' && e.task === 'inflight-4')).toHaveLength(0);

    // Deleted by a person while no service ran: followed again at the next start, and stopped
    // (left to the watchdog, the job ran on on its worker for its whole length).
    s.drop('inflight-5', { sleepMs: 60_000, file: 'inflight-5.txt' });
    const tick5 = await s.q.waitForAgent((e) => e.kind === 'tick' && e.task === 'inflight-5');
    fourth.child.kill('SIGTERM');
    expect((await fourth.exited).code).toBe(0);
    rmSync(join(s.vault, 'Needs_Action', 'inflight-5.md'));
    const fifth = s.startService();
    await fifth.waitFor(/inflight-5: note moved or deleted by a person while the service was down/);
    await fifth.waitFor(/inflight-5: stopping agent \(moved\)/);
    await fifth.waitFor(/inflight-5: run ended but the note is gone or unreadable; nothing to record/);
    await waitUntil(() => !alive(tick5.pid), 'the agent on the worker stopped');
    expect(s.q.agentLog().filter((e) => e.kind === 'end' && e.task === 'inflight-5')).toHaveLength(0);
    expect(existsSync(join(s.vault, 'Needs_Action', 'inflight-5.md'))).toBe(false); // nothing wrote it back
  });

  it('Redis stopped mid-run: the run finishes and reports when it is back; new runs wait, with one log line', { timeout: 150_000 }, async () => {
    s = await RemoteService.create();
    // A lock that outlives the outage: the returning worker still holds its run.
    const w = s.q.spawnWorker('alpha', { WORKER_LOCK_TTL: '20s' });
    await w.waitFor(/takes scripted runs/);
    const service = s.startService();
    await service.waitFor(/vaultrunner started/);
    s.drop('outage-1', { sleepMs: 1500, file: 'outage-1.txt' });
    await s.q.waitForAgent((e) => e.kind === 'tick' && e.task === 'outage-1');
    await s.q.redis.stop();
    await service.waitFor(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/);
    s.drop('outage-2', { sleepMs: 100, file: 'outage-2.txt' });
    await waitUntil(() => s!.field('outage-2', 'status') === 'planned', 'outage-2 planned');
    // What list, show and the Dashboard read: the queue stands for the agents' health.
    await waitUntil(() => /"scripted":\{"ok":false,"detail":"the queue's Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/.test(readAgents(s!)), 'agents.json saying the queue is unreachable');
    // The running agent finishes during the outage; meanwhile many dispatch passes went by.
    await s.q.waitForAgent((e) => e.kind === 'end' && e.task === 'outage-1');
    expect(s.field('outage-2', 'status')).toBe('planned');
    expect(s.q.agentLog().some((e) => e.task === 'outage-2')).toBe(false);

    await s.q.redis.restart();
    await service.waitFor(/Redis at redis:\/\/127\.0\.0\.1:\d+ is back/);
    await s.waitDone(['outage-1', 'outage-2']);
    expect(service.count(/is unreachable/)).toBe(1);
    for (const id of ['outage-1', 'outage-2']) expect(s.q.agentLog().filter((e) => e.kind === 'start' && e.task === id)).toHaveLength(1);
    expect(s.field('outage-1', 'head_commit')).toBe(s.q.remoteBranches().get('vr/outage-1'));
  });
});

function readAgents(s: RemoteService): string {
  try {
    return readFileSync(join(s.vault, '.vaultrunner', 'agents.json'), 'utf8');
  } catch {
    return '';
  }
}

async function waitUntil(fact: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fact()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
