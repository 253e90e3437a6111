// Remote workers through the service: a real `vaultrunner start` with QUEUE_URL dispatches the
// tasks dropped in Needs_Action to two real worker processes over a real redis-server; the workers
// push each task branch to a bare remote, the service fetches it into the person's checkout and
// records the outcome through the same path as a local run. Waits are on facts (notes, log lines).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteService } from './helpers/remote-service.js';

// As the issue asks: 20 tasks. Each remote run costs about a dozen git and node processes
// (clone/fetch, worktree, commit, push, gate, fetch back): ~55 s on a busy 2-core machine.
const TASKS = 20;

let s: RemoteService | undefined;
afterEach(async () => {
  await s?.dispose();
  s = undefined;
});

describe('a service with QUEUE_URL', () => {
  it(`spreads ${TASKS} tasks over two workers; each runs once, is done, its branch pushed and fetched`, { timeout: 240_000 }, async () => {
    s = await RemoteService.create();
    // Locks that a busy machine's slow git cannot let lapse: this test is not about stalls.
    const a = s.q.spawnWorker('alpha', { WORKER_LOCK_TTL: '15s' }, ['--concurrency', '2']);
    const b = s.q.spawnWorker('beta', { WORKER_LOCK_TTL: '15s' }, ['--concurrency', '2']);
    await Promise.all([a.waitFor(/takes scripted runs/), b.waitFor(/takes scripted runs/)]);
    const service = s.startService();
    await service.waitFor(/vaultrunner started/);
    expect(service.output()).toMatch(/queue +runs go to remote workers via redis:\/\/127\.0\.0\.1:\d+/);
    const ids = Array.from({ length: TASKS }, (_, i) => `spread-${String(i + 1).padStart(2, '0')}`);
    for (const id of ids) s.drop(id, { sleepMs: 200, file: `${id}.txt` });
    await s.waitDone(ids, 180_000);

    const starts = s.q.agentLog().filter((e) => e.kind === 'start');
    // Each ran exactly once, and both workers took some.
    expect(starts.map((e) => e.task).sort()).toEqual(ids);
    expect(new Set(starts.map((e) => e.worker))).toEqual(new Set(['alpha', 'beta']));
    // Nothing was spawned on the coordinator: every agent ran under a worker.
    expect(starts.every((e) => e.worker === 'alpha' || e.worker === 'beta')).toBe(true);
    const remote = s.q.remoteBranches();
    for (const id of ids) {
      const head = s.field(id, 'head_commit');
      expect(s.field(id, 'status')).toBe('done');
      expect(s.field(id, 'branch')).toBe(`vr/${id}`);
      expect(s.field(id, 'base_branch')).toBe('main');
      expect(s.field(id, 'base_commit')).toBe(s.q.baseCommit);
      expect(s.field(id, 'files_changed')).toBe('1');
      // The worker's own gate definition ran (the coordinator's `false` never runs here).
      expect(s.field(id, 'gate_results')).toBe('has_file passed');
      expect(s.field(id, 'review')).toBe(`[[Reviews/${id}]]`);
      // Pushed by the worker, fetched into the person's checkout at the same commit.
      expect(remote.get(`vr/${id}`)).toBe(head);
      expect(s.localBranch(`vr/${id}`)).toBe(head);
      expect(s.q.showFile(`vr/${id}`, `${id}.txt`)).toBe(`${id} was here`);
    }
    // The transcript streamed back into the vault: which worker ran it, and the agent's lines.
    const log = readFileSync(join(s.vault, 'Logs', 'runs', ids[0]!, 'attempt-1.md'), 'utf8');
    expect(log).toMatch(/Running on worker \S+:\d+/);
    expect(log).toContain(`working on ${ids[0]}`);
    // A finished run leaves no job file behind.
    expect(readdirSync(join(s.vault, '.vaultrunner', 'queue')).filter((f) => f.endsWith('.job.json'))).toEqual([]);
  });
});
