/// <reference lib="dom" />
// Notifications end to end: a status change made in the note reaches the operator's webhook (a
// receiver on 127.0.0.1) and, once the person opted in, a browser notification in Chromium.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWebConfig } from '../../src/web/web-config.js';
import { silentLogger } from '../../src/log/logger.js';
import { notifierFromConfig } from '../../src/notify/create-notifier.js';
import type { Notifier } from '../../src/notify/notifier.js';
import { launchBrowser, type Browser } from './browser.js';
import { startWebHarness, type WebHarness } from './web-harness.js';

let w: WebHarness;
let browser: Browser;
let server: Server;
let notifier: Notifier;
const posts: Record<string, unknown>[] = [];
let onPost: (() => void) | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      posts.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
      onPost?.();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  [w, browser] = await Promise.all([startWebHarness(), launchBrowser()]);
  notifier = notifierFromConfig(loadWebConfig({ NOTIFY_URL: hook }), { logger: silentLogger(), webUrl: () => w.web.url });
  // Here the read model's changes feed the webhook (the service's own path: test/notify/service-notify.test.ts).
  w.web.model.subscribe((e) => e.kind === 'transition' && notifier.notify({ task: e.transition.id, from: e.transition.from, to: e.transition.to, reason: e.transition.reason }));
  w.h.drop('Long job', 'type: claude_code\nstatus: executing\nattempts: 1');
}, 180_000);
afterAll(async () => {
  await notifier?.close(200);
  await browser?.close();
  await w?.stop();
  server?.closeAllConnections();
  server?.close();
});

describe('notifications', { timeout: 90_000 }, () => {
  it('sends the webhook and a browser notification when a task fails', async () => {
    await browser.context.grantPermissions(['notifications']);
    const page = await browser.context.newPage();
    // Record what the page asks the browser to show (headless Chromium has no notification centre).
    await page.addInitScript(() => {
      const shown: { title: string; body?: string }[] = [];
      (window as unknown as { __shown: typeof shown }).__shown = shown;
      const Real = window.Notification;
      class Recorded extends Real {
        constructor(title: string, opts?: NotificationOptions) {
          super(title, opts);
          shown.push({ title, body: opts?.body });
        }
      }
      Object.defineProperty(window, 'Notification', { value: Recorded });
    });
    await page.goto(w.web.urlWithToken);
    await page.locator('.card[data-id="Long job"]').waitFor();
    await page.click('#notify');
    await page.locator('#notify[aria-pressed="true"]').waitFor();

    const delivered = new Promise<void>((r) => (onPost = r));
    const path = join(w.h.vault, 'Needs_Action', 'Long job.md');
    writeFileSync(`${path}.tmp~`, readFileSync(path, 'utf8').replace('status: executing', 'status: failed\nerror: "agent exited with code 1"'));
    renameSync(`${path}.tmp~`, path);

    await page.waitForFunction(() => (window as unknown as { __shown: unknown[] }).__shown.length > 0, undefined, { timeout: 5000 });
    const shown = await page.evaluate(() => (window as unknown as { __shown: { title: string; body?: string }[] }).__shown);
    expect(shown).toEqual([{ title: 'Long job: failed', body: 'agent exited with code 1' }]);

    await delivered;
    expect(posts).toEqual([
      { task: 'Long job', from: 'executing', to: 'failed', reason: 'agent exited with code 1', link: `${w.web.url}/task/Long%20job`, text: expect.stringContaining('Long job executing → failed') },
    ]);
    // Not a notified status: nothing is posted or shown.
    writeFileSync(`${path}.tmp~`, readFileSync(path, 'utf8').replace('status: failed', 'status: planned'));
    renameSync(`${path}.tmp~`, path);
    await page.locator('.col[data-status="planned"] .card[data-id="Long job"]').waitFor();
    expect(posts).toHaveLength(1);
    expect(await page.evaluate(() => (window as unknown as { __shown: unknown[] }).__shown.length)).toBe(1);
    await page.close();
  });
});
