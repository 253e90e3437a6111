// `doctor` with QUEUE_URL: a ✓ when Redis answers, a ✗ (and exit 1) when it does not, and the
// password in the URL is never printed.
import { afterEach, describe, expect, it } from 'vitest';
import { createCliVault, type CliVault } from '../helpers/cli-vault.js';
import { freePort, startRedis, type TestRedis } from './helpers/redis-server.js';

let v: CliVault | undefined;
let redis: TestRedis | undefined;
afterEach(async () => {
  v?.cleanup();
  await redis?.dispose();
  v = undefined;
  redis = undefined;
});

const healthy = { ANTHROPIC_API_KEY: 'sk-test-secret-value' };

describe('vaultrunner doctor with QUEUE_URL', () => {
  it('shows a ✗ for the queue when Redis is unreachable, a ✓ when it answers', { timeout: 60_000 }, async () => {
    v = createCliVault({ env: healthy });
    const port = await freePort();
    const down = v.run(['doctor'], { env: { QUEUE_URL: `redis://:queue-secret-pw@127.0.0.1:${port}` } });
    expect(down.code, down.stdout + down.stderr).toBe(1);
    const failed = down.stdout.split('\n').filter((l) => l.startsWith('✗ '));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(new RegExp(`^✗ queue: Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unreachable .*start Redis or fix QUEUE_URL`));
    expect(down.stdout + down.stderr).not.toContain('queue-secret-pw');

    redis = await startRedis();
    const up = v.run(['doctor'], { env: { QUEUE_URL: redis.url } });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain(`✓ queue: Redis at ${redis.url} answers; runs go to remote workers`);
    // The agents are the workers' business: a missing CLI here is not a ✗.
    const noCli = v.run(['doctor'], { env: { QUEUE_URL: redis.url, CLAUDE_BIN: '/nonexistent/claude' } });
    expect(noCli.code, noCli.stdout + noCli.stderr).toBe(0);
    expect(noCli.stdout).toContain('✓ agents: run on the remote workers (QUEUE_URL)');
  });
});
