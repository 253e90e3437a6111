// The service tells the operator's webhook (a receiver on 127.0.0.1) of the engine's transitions:
// one POST per transition into a NOTIFY_ON status, with the note's error as reason, no secrets,
// and a receiver that does not answer never holds the engine back.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { notifierFromConfig } from '../../src/notify/create-notifier.js';
import { loadWebConfig } from '../../src/web/web-config.js';
import { createHarness, nextEvent, waitFor, type Harness } from '../helpers/vault-harness.js';

const SECRET = 'sk-ant-api03-SECRET-never-in-a-payload';
let h: Harness | undefined;
const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  h = undefined;
  for (const s of servers.splice(0)) (s.closeAllConnections(), s.close());
});

describe('notifications from the service', { timeout: 60_000 }, () => {
  it('posts done and failed (with the reason) once each, while a held first POST blocks nothing', async () => {
    const posts: Record<string, unknown>[] = [];
    const held: ServerResponse[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        posts.push(JSON.parse(body) as Record<string, unknown>);
        // The first delivery hangs until the test lets it go.
        if (posts.length === 1) held.push(res);
        else res.writeHead(204).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const notifier = notifierFromConfig(loadWebConfig({ NOTIFY_URL: hook }), { logger: silentLogger(), webUrl: () => 'http://127.0.0.1:9' });
    h = createHarness({ MAX_ATTEMPTS: '1' }, { notifier, agentEnv: { ANTHROPIC_API_KEY: SECRET } });
    await h.start();
    const firstDone = nextEvent(h.events, 'task:transition', (e) => e.taskId === 'first' && e.to === 'done', 30_000);
    h.drop('first', 'type: claude_code');
    await firstDone;
    await waitFor(() => held.length === 1, 'the first POST to arrive and be held');

    // The receiver holds that POST: the engine goes on regardless.
    const failed = nextEvent(h.events, 'task:transition', (e) => e.taskId === 'broken' && e.to === 'failed', 30_000);
    h.drop('broken', 'type: claude_code\nagent: fail');
    const e = await failed;
    expect(e.reason).toMatch(/exit(ed)? .*3|code 3/);
    expect(posts).toHaveLength(1);
    held[0]!.writeHead(204).end();
    await waitFor(() => posts.length === 2, 'the second POST after the first was answered');

    expect(posts[0]).toEqual({ task: 'first', from: 'executing', to: 'done', reason: null, link: 'http://127.0.0.1:9/task/first', text: expect.any(String) });
    expect(posts[1]).toMatchObject({ task: 'broken', from: 'executing', to: 'failed', reason: e.reason });
    expect(JSON.stringify(posts)).not.toContain(SECRET);
    // planned/executing are not in NOTIFY_ON; stop closes the notifier with nothing left queued.
    await h.stop();
    expect(posts).toHaveLength(2);
  });
});
