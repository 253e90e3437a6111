// A token in the person's origin URL stays on the person's machine: the job a coordinator puts
// into Redis (and every worker reads) carries the URL without it. A real repository, a real
// redis-server; the job is built from remoteSource() as RemoteRunner.launcher builds it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { queueName } from '../../src/queue/job.js';
import type { RunJobInput } from '../../src/queue/job.js';
import { remoteSource } from '../../src/workspace/remote.js';
import { git, QueueHarness } from './helpers/queue-harness.js';

let h: QueueHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

/** Every key and value in Redis, as one string. */
async function dumpRedis(client: Redis): Promise<string> {
  const out: string[] = [];
  for (const key of await client.keys('*')) {
    const type = await client.type(key);
    const value =
      type === 'hash' ? await client.hgetall(key)
      : type === 'string' ? await client.get(key)
      : type === 'list' ? await client.lrange(key, 0, -1)
      : type === 'zset' ? await client.zrange(key, 0, -1)
      : type === 'set' ? await client.smembers(key)
      : type === 'stream' ? await client.xrange(key, '-', '+')
      : type;
    out.push(key, JSON.stringify(value));
  }
  return out.join('\n');
}

describe('remote jobs and the origin URL', () => {
  it('never carries the credentials of the origin URL into Redis; scheme, host, port and path stay', { timeout: 60_000 }, async () => {
    h = await QueueHarness.create();
    const repo = join(h.root, 'person');
    mkdirSync(join(repo, 'src'), { recursive: true });
    git(h.root, 'init', '--quiet', '--initial-branch=main', repo);
    writeFileSync(join(repo, 'src', 'a.txt'), 'a\n');
    git(repo, 'add', '-A');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'seed');
    git(repo, 'remote', 'add', 'origin', 'https://alice:s3cret@127.0.0.1:1/team/x.git');

    // What the coordinator does: the origin of the task's working_dir, then the job (remote-run.ts).
    const plan = await remoteSource({ taskId: 'Leaky task', workingDir: join(repo, 'src') });
    const lease = (await h.leases.acquire('Leaky task', 1))!;
    const job: RunJobInput = {
      v: 1,
      taskId: 'Leaky task',
      attempt: 1,
      leaseToken: lease.token,
      agent: 'scripted',
      permissionMode: 'acceptEdits',
      prompt: '{}',
      timeoutMs: 60_000,
      repoUrl: plan.remoteUrl,
      baseCommit: plan.baseCommit,
      branch: plan.branch,
      subdir: plan.subdir,
      gates: [],
    };
    const run = h.dispatcher.dispatch(job);
    await h.logger.waitFor(/dispatched to the scripted queue/);

    const client = new Redis(h.redis.url);
    try {
      const stored = await client.hget(`${h.dispatcher.prefix}:${queueName('scripted')}:${run.id}`, 'data');
      expect(JSON.parse(stored!)).toMatchObject({ taskId: 'Leaky task', repoUrl: 'https://127.0.0.1:1/team/x.git', subdir: 'src' });
      const all = await dumpRedis(client);
      expect(all).toContain('Leaky task'); // the dump did reach the job
      expect(all).not.toContain('s3cret');
      expect(all).not.toContain('alice');
    } finally {
      client.disconnect();
    }
    // The person's own repository keeps its origin as it was (the coordinator fetches with it).
    expect(git(repo, 'remote', 'get-url', 'origin')).toBe('https://alice:s3cret@127.0.0.1:1/team/x.git');
  });
});
