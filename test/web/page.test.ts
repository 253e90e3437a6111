/// <reference lib="dom" />
// The page in real headless Chromium against a real temp vault and the real service.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunTranscript } from '../../src/runs/transcript.js';
import { launchBrowser, type Browser } from './browser.js';
import { startWebHarness, type WebHarness } from './web-harness.js';

let w: WebHarness;
let browser: Browser;

beforeAll(async () => {
  [w, browser] = await Promise.all([startWebHarness({ maxStreamMs: 400 }), launchBrowser()]);
  w.h.drop('Write the docs', 'type: claude_code\nstatus: planned\npriority: high\nplan: "[[PLAN_Write the docs]]"');
  w.h.drop('Ship it', 'type: claude_code\nstatus: executing\nattempts: 1');
  w.h.drop('Needs a look', 'type: claude_code\nstatus: in_review\ncost_usd: 0.42');
  w.h.drop('Broke', 'type: claude_code\nstatus: failed\nerror: "timeout after 10m"');
  w.h.drop('Risky', 'type: shell\nstatus: awaiting_approval', 'Run it.\n', 'Pending_Approval');
  w.h.drop('Waits', 'type: claude_code\nstatus: planned\nblocked_by:\n  - "[[Write the docs]]"');
  w.h.drop('Old one', 'type: claude_code\nstatus: done', 'Done long ago.\n', 'Done');
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

async function open(path = '/'): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${w.web.url}/?token=${w.web.urlWithToken.split('token=')[1]}`);
  expect(page.url()).toBe(`${w.web.url}/`); // the token left the address bar
  if (path !== '/') await page.goto(`${w.web.url}${path}`);
  return page;
}

const card = (page: Page, status: string, id: string) => page.locator(`.col[data-status="${status}"] .card[data-id="${id}"]`);

/** Replace a note the way an editor saves: temp file, then rename. */
function personSaves(path: string, text: string) {
  writeFileSync(`${path}.tmp~`, text);
  renameSync(`${path}.tmp~`, path);
}

describe('web page in Chromium', { timeout: 90_000 }, () => {
  it('shows each task in its status column with readiness, priority, cost and error', async () => {
    const page = await open();
    await card(page, 'planned', 'Write the docs').waitFor();
    await expect(card(page, 'executing', 'Ship it').count()).resolves.toBe(1);
    await expect(card(page, 'in_review', 'Needs a look').count()).resolves.toBe(1);
    await expect(card(page, 'failed', 'Broke').count()).resolves.toBe(1);
    await expect(card(page, 'awaiting_approval', 'Risky').count()).resolves.toBe(1);
    await expect(card(page, 'done', 'Old one').count()).resolves.toBe(1);
    expect(await card(page, 'planned', 'Waits').innerText()).toContain('blocked by Write the docs');
    expect(await card(page, 'planned', 'Write the docs').innerText()).toContain('queued');
    expect(await card(page, 'in_review', 'Needs a look').innerText()).toContain('$0.42');
    expect(await card(page, 'failed', 'Broke').innerText()).toContain('timeout after 10m');
    // Search narrows the board.
    await page.fill('#search', 'broke');
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
    await page.close();
  });

  it('shows an edit made in the note while the page is open, without a reload', async () => {
    const page = await open();
    await card(page, 'planned', 'Write the docs').waitFor();
    const path = join(w.h.vault, 'Needs_Action', 'Write the docs.md');
    personSaves(path, readFileSync(path, 'utf8').replace('status: planned', 'status: paused').replace('priority: high', 'priority: urgent'));
    await card(page, 'paused', 'Write the docs').waitFor({ timeout: 5000 });
    expect(await card(page, 'paused', 'Write the docs').innerText()).toContain('urgent');
    expect(await card(page, 'planned', 'Write the docs').count()).toBe(0);
    // The task waiting on it is re-evaluated too.
    personSaves(path, readFileSync(path, 'utf8').replace('status: paused', 'status: planned'));
    await card(page, 'planned', 'Write the docs').waitFor({ timeout: 5000 });
    await page.close();
  });

  it('shows a transcript growing on screen, exactly the file (redacted), across reconnects', async () => {
    const cwd = join(w.workspace, 'api');
    const t = await createRunTranscript({ runsDir: join(w.h.vault, 'Logs', 'runs'), vaultRoot: w.h.vault, taskId: 'Ship it', attempt: 1, header: { agent: 'claude', workingDir: cwd, startedAt: Date.now() }, flushMs: 20 });
    const page = await open('/task/Ship%20it');
    const pre = page.locator('#transcript');
    await page.waitForFunction(() => (document.getElementById('transcript')?.textContent ?? '').includes('## Transcript'));
    const shown = (s: string) => s.split(w.h.root).join(`‹${basename(w.h.root)}›`).replace(`‹${basename(w.h.root)}›/vault`, '‹vault›');
    for (let i = 1; i <= 30; i++) {
      t.onEvent({ kind: 'text', text: `step ${i}: ünïcödé ✓ ${'x'.repeat(i * 7)}` });
      if (i % 10 === 0) {
        // Each batch appears on screen while the run goes on.
        await page.waitForFunction((n) => (document.getElementById('transcript')?.textContent ?? '').includes(`step ${n}:`), i, { timeout: 5000 });
      }
      await new Promise((r) => setTimeout(r, 40));
    }
    await t.finish({ status: 'done', durationMs: 1234 });
    const file = readFileSync(t.mdPath, 'utf8');
    await page.waitForFunction(() => (document.getElementById('transcript')?.textContent ?? '').includes('## Summary'), undefined, { timeout: 5000 });
    await page.waitForFunction((len) => (document.getElementById('transcript')?.textContent ?? '').length >= len, shown(file).length, { timeout: 5000 });
    const text = await pre.textContent();
    expect(text).toBe(shown(file)); // nothing lost, nothing doubled
    expect(text).not.toContain(w.h.root); // no path outside the vault reaches the browser
    // The server ends each stream after 400 ms: the browser reconnected (Last-Event-ID) several times.
    expect(Number(await pre.getAttribute('data-opens'))).toBeGreaterThan(2);
    await page.close();
  });

  it('creates a task from the page as a valid note in Needs_Action/', async () => {
    const page = await open();
    await page.click('#new-toggle');
    await page.fill('#new-task [name=title]', 'From the page');
    await page.selectOption('#new-task [name=type]', 'claude_code');
    await page.selectOption('#new-task [name=priority]', 'high');
    await page.selectOption('#new-task [name=root]', '0');
    await page.fill('#new-task [name=dir]', 'projects/api');
    await page.fill('#new-task [name=body]', 'Add <script>alert(1)</script> a health endpoint.\n\n- [ ] returns 200');
    await page.click('#new-task button[type=submit]');
    await page.locator('#flash').filter({ hasText: 'created Needs_Action/From the page.md' }).waitFor();
    await card(page, 'new', 'From the page').waitFor({ timeout: 5000 });
    const text = readFileSync(join(w.h.vault, 'Needs_Action', 'From the page.md'), 'utf8');
    expect(text).toMatch(/^---\ntype: claude_code\nstatus: new\ntitle: "From the page"\npriority: high\nworking_dir: .*\/projects\/api\ncreated: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\n---\n/);
    const entry = w.h.service!.ctx.index.byId('From the page');
    expect(entry?.state.kind).toBe('task');
    // The body is shown as text on the task page: the script tag is not executed, not even parsed.
    await page.click(`.card[data-id="From the page"]`);
    await page.locator('#body').filter({ hasText: 'alert(1)' }).waitFor();
    expect(await page.locator('#body script').count()).toBe(0);
    await page.close();
  });

  it('refuses from the page what the operator does not allow, writing nothing', async () => {
    const page = await open();
    const r = await page.evaluate(async () => {
      const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const post = (body: unknown) => fetch('/api/tasks', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) }).then(async (res) => ({ status: res.status, error: (await res.json()).error as string }));
      return [
        await post({ title: 'Wide type', type: 'shell' }),
        await post({ title: 'Escape', type: 'claude_code', root: 0, dir: '../..' }),
        await post({ title: 'Absolute', type: 'claude_code', root: 0, dir: '/etc' }),
        await post({ title: 'No root', type: 'claude_code', root: 7, dir: 'x' }),
      ];
    });
    expect(r.map((x) => x.status)).toEqual([422, 422, 422, 422]);
    expect(r[0]!.error).toContain('whitelist');
    for (const name of ['Wide type', 'Escape', 'Absolute', 'No root']) expect(w.h.find(name)).toBeUndefined();
    await page.close();
  });

  it('pauses from the page by compare-and-swap, and shows a conflict when the note changed meanwhile', async () => {
    const path = join(w.h.vault, 'Needs_Action', 'Needs a look.md');
    const page = await open();
    // This page has not caught up with the person's edit yet (its live stream is cut), so its
    // click carries the version it showed: the note's newer edit must win.
    await page.route('**/events', (route) => route.abort());
    await page.goto(`${w.web.url}/task/Needs%20a%20look`);
    await page.locator('#actions [data-action="cancel"]').waitFor();
    personSaves(path, readFileSync(path, 'utf8').replace('cost_usd: 0.42', 'cost_usd: 0.42\nreviewer: ana'));
    const before = readFileSync(path, 'utf8');
    await page.click('#actions [data-action="cancel"]');
    const flash = page.locator('#flash.conflict');
    await flash.waitFor({ timeout: 5000 });
    expect(await flash.innerText()).toContain('was changed');
    expect(readFileSync(path, 'utf8')).toBe(before);
    // After the conflict the page shows the note as it is now; the same click then works.
    await page.locator('#props tr[data-key="reviewer"]').waitFor();
    await page.click('#actions [data-action="acceptReview"]');
    await page.locator('#flash.ok').filter({ hasText: 'accepted' }).waitFor();
    expect(readFileSync(path, 'utf8')).toBe(before.replace('status: in_review', 'status: done'));
    await page.unroute('**/events');
    // Pause a planned task: only `status` changes, every other byte stays.
    const planned = join(w.h.vault, 'Needs_Action', 'Waits.md');
    const was = readFileSync(planned, 'utf8');
    await page.goto(`${w.web.url}/task/Waits`);
    await page.locator('#actions [data-action="pause"]').click();
    await page.locator('#flash.ok').filter({ hasText: 'paused' }).waitFor();
    expect(readFileSync(planned, 'utf8')).toBe(was.replace('status: planned', 'status: paused'));
    await page.locator('#actions .status').filter({ hasText: 'paused' }).waitFor();
    await page.close();
  });

  it('renders the note safely and the review diff, and sends a task back with feedback', async () => {
    const body = 'Fix it. <img src=x onerror="window.__pwned=1"> [click](javascript:window.__pwned=2) see [[Write the docs|the docs]]\n\n## Acceptance\n\n- [ ] works\n';
    const path = w.h.drop('Reviewed', 'type: claude_code\nstatus: in_review\nreview: "[[Reviews/Reviewed]]"', body);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(w.h.vault, 'Reviews'), { recursive: true });
    writeFileSync(join(w.h.vault, 'Reviews', 'Reviewed.md'), '# Review\n\n```diff\n--- a/x.ts\n+++ b/x.ts\n@@ -1 +1 @@\n-old line\n+new line\n```\n');
    const page = await open('/task/Reviewed');
    await page.locator('#review .d-add').filter({ hasText: '+new line' }).waitFor({ timeout: 8000 });
    expect(await page.locator('#review .d-del').innerText()).toBe('-old line');
    expect(await page.locator('#body img').count()).toBe(0);
    expect(await page.locator('#body a[href^="javascript"]').count()).toBe(0);
    expect(await page.locator('#body a.wikilink').getAttribute('href')).toBe('/task/Write%20the%20docs');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const was = readFileSync(path, 'utf8');
    await page.click('#actions [data-action="sendBack"]');
    await page.fill('#feedback textarea', 'Please add a test for the empty case.');
    await page.click('#feedback button[type=submit]');
    await page.locator('#flash.ok').filter({ hasText: 'sent back' }).waitFor({ timeout: 8000 });
    expect(readFileSync(path, 'utf8')).toBe(`${was.replace('status: in_review', 'status: planned')}\n## Feedback\n\nPlease add a test for the empty case.\n`);
    await page.close();
  });

  it('answers 401 to a browser without the token', async () => {
    const other = await launchBrowser();
    try {
      const page = await other.context.newPage();
      const res = await page.goto(`${w.web.url}/`);
      expect(res?.status()).toBe(401);
      expect(await page.textContent('body')).toContain('not signed in');
    } finally {
      await other.close();
    }
  });
});
