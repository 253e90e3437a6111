// The webhook against a real HTTP receiver on 127.0.0.1: payload, retries with backoff, giving
// up, a bounded queue that never blocks the caller, and the ntfy format.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { createWebhookNotifier, type WebhookNotifier } from '../../src/notify/webhook.js';

interface Hit { body: string; headers: IncomingMessage['headers']; at: number }

let server: Server | undefined;
let notifier: WebhookNotifier | undefined;
afterEach(async () => {
  await notifier?.close(100);
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = notifier = undefined;
});

/** A receiver whose answer per request is `status(n)` (n from 1); 0 means never answer. */
async function receiver(status: (n: number) => number): Promise<{ url: string; hits: Hit[]; next: (count: number) => Promise<void> }> {
  const hits: Hit[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hits.push({ body, headers: req.headers, at: Date.now() });
      for (const w of waiters.filter((x) => hits.length >= x.count)) w.resolve();
      const s = status(hits.length);
      if (s !== 0) res.writeHead(s).end('ok');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook/s3cr3t-path`;
  return { url, hits, next: (count) => (hits.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))) };
}

const base = { format: 'json' as const, on: ['done', 'failed', 'in_review', 'awaiting_approval'] as const, logger: silentLogger() };

describe('webhook notifier', () => {
  it('posts {task, from, to, reason, link, text} for the chosen statuses only', async () => {
    const r = await receiver(() => 204);
    notifier = createWebhookNotifier({ ...base, url: r.url, linkFor: (t) => `http://127.0.0.1:1/task/${encodeURIComponent(t)}` });
    notifier.notify({ task: 'Fix login', from: 'executing', to: 'planned' }); // not chosen
    notifier.notify({ task: 'Fix login', from: 'executing', to: 'failed', reason: 'timeout after 10m' });
    await r.next(1);
    const got = JSON.parse(r.hits[0]!.body) as Record<string, unknown>;
    expect(Object.keys(got).sort()).toEqual(['from', 'link', 'reason', 'task', 'text', 'to']);
    expect(got).toMatchObject({ task: 'Fix login', from: 'executing', to: 'failed', reason: 'timeout after 10m', link: 'http://127.0.0.1:1/task/Fix%20login' });
    expect(got.text).toContain('Fix login executing → failed');
    expect(r.hits[0]!.headers['content-type']).toBe('application/json');
    await notifier.close(500);
    expect(r.hits).toHaveLength(1);
    expect(notifier.stats()).toMatchObject({ sent: 1, failed: 0 });
  });

  it('retries 5xx and 429 with growing delays, then delivers', async () => {
    const r = await receiver((n) => (n === 1 ? 503 : n === 2 ? 429 : 200));
    notifier = createWebhookNotifier({ ...base, url: r.url, backoffMs: 50 });
    notifier.notify({ task: 'A', from: 'executing', to: 'done' });
    await r.next(3);
    const gap1 = r.hits[1]!.at - r.hits[0]!.at;
    const gap2 = r.hits[2]!.at - r.hits[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(30); // 50 ms ± 25 %
    expect(gap2).toBeGreaterThanOrEqual(70); // 100 ms ± 25 %
    await notifier.close(500);
    expect(notifier.stats()).toMatchObject({ sent: 1, failed: 0 });
  });

  it('gives up at once on a 4xx, and after all attempts on a dead receiver', async () => {
    const r = await receiver(() => 404);
    notifier = createWebhookNotifier({ ...base, url: r.url, backoffMs: 10 });
    notifier.notify({ task: 'A', from: 'executing', to: 'done' });
    notifier.notify({ task: 'B', from: 'executing', to: 'done' });
    await r.next(2);
    await notifier.close(500);
    expect(r.hits.map((h) => (JSON.parse(h.body) as { task: string }).task)).toEqual(['A', 'B']);
    expect(notifier.stats()).toMatchObject({ sent: 0, failed: 2 });

    const dead = createWebhookNotifier({ ...base, url: 'http://127.0.0.1:9/nothing-listens', backoffMs: 5, attempts: 3 });
    dead.notify({ task: 'C', from: 'executing', to: 'failed' });
    await dead.close(2000);
    expect(dead.stats()).toMatchObject({ sent: 0, failed: 1 });
  });

  it('never blocks the caller: a hanging receiver costs a bounded queue, oldest dropped', async () => {
    const r = await receiver(() => 0); // accepts, never answers
    notifier = createWebhookNotifier({ ...base, url: r.url, maxQueue: 10, timeoutMs: 60_000 });
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) notifier.notify({ task: `T${i}`, from: 'executing', to: 'done' });
    const spent = performance.now() - t0;
    await r.next(1);
    expect(spent).toBeLessThan(200); // 1,000 notices, no waiting on the network
    const s = notifier.stats();
    expect(s.queued).toBe(10);
    expect(s.dropped).toBe(1000 - 10 - 1); // one is in flight
    const c0 = Date.now();
    await notifier.close(100); // bounded shutdown even though the receiver hangs
    expect(Date.now() - c0).toBeLessThan(2000);
  });

  it('speaks ntfy: the text as body, title and click link as headers', async () => {
    const r = await receiver(() => 200);
    notifier = createWebhookNotifier({ ...base, format: 'ntfy', url: r.url, linkFor: (t) => `http://127.0.0.1:1/task/${t}` });
    notifier.notify({ task: 'Review me', from: 'executing', to: 'in_review' });
    await r.next(1);
    expect(r.hits[0]!.body).toBe('vaultrunner: Review me executing → in_review http://127.0.0.1:1/task/Review me');
    expect(r.hits[0]!.headers.title).toBe('Review me: in_review');
    expect(r.hits[0]!.headers.click).toBe('http://127.0.0.1:1/task/Review me');
  });
});
