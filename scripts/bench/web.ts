/// <reference lib="dom" />
// web: the live page in headless Chromium against the real service (TS sources, in-process).
// (1) SSE latency: a line appended to a transcript until the browser's page shows it, p50/p95,
// against a floor measured in the same run: the same append until a plain fs.watch callback in
// Node fires. (2) The board with 2,000 active tasks: navigation until the frame with the board is
// painted, its parts (fetch, building the cards), /api/tasks alone and its size, and a search
// keystroke until the filtered board is painted.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../../src/config/config.js';
import { loadWebConfig } from '../../src/web/web-config.js';
import { silentLogger } from '../../src/log/logger.js';
import { startService } from '../../src/service/service.js';
import { startWebView } from '../../src/web/start-web.js';
import { benchDir, median, noteText, percentile, round, verdict, type BenchResult } from './common.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STATUSES = ['planned', 'planned', 'new', 'paused', 'failed', 'in_review', 'executing', 'awaiting_approval'];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runWeb(quick: boolean): Promise<BenchResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  const tasks = 2000;
  const samples = quick ? 30 : 100;
  const dir = benchDir('web');
  for (let i = 0; i < tasks; i++) {
    const status = STATUSES[i % STATUSES.length]!;
    const fm = `type: claude_code\nstatus: ${status}\ntitle: "Task number ${i}"\npriority: ${['urgent', 'high', 'medium', 'low'][i % 4]}${i % 5 === 0 && i > 0 ? `\nblocked_by:\n  - "[[t${i - 1}]]"` : ''}${status === 'failed' ? '\nerror: "timeout after 10m"' : ''}\nattempts: ${i % 3}`;
    writeFileSync(join(dir.vault, 'Needs_Action', `t${i}.md`), noteText(fm));
  }
  const config = loadConfig({ VAULT_DIR: dir.vault, ORCHESTRATOR_AUTORUN: 'false', EXECUTOR_AUTORUN: 'false', WATCHDOG_AUTORUN: 'false', COMMAND_AGENTS: '{}', LOG_LEVEL: 'silent' }, {}, dir.root);
  const service = await startService({ config, logger: silentLogger(), heartbeatMs: 30_000 });
  const web = await startWebView({ web: loadWebConfig({ WEB_PORT: '0' }), deps: { ...service.ctx, runs: () => service.ctx.runs.all() }, logger: silentLogger() });
  const profile = mkdtempSync(join(tmpdir(), 'vr-bench-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1500, height: 900 } });
  try {
    const page = await ctx.newPage();
    await page.goto(web.urlWithToken); // signs in; the first render warms the caches
    await page.waitForFunction((n) => document.getElementById('board')?.dataset.rendered === String(n) && document.getElementById('board')?.dataset.readyMs, tasks, { timeout: 30_000 });
    // The first visit after the service started (sign-in redirect included): nothing cached yet.
    const cold = Number(await page.evaluate(() => document.getElementById('board')!.dataset.readyMs));
    const renders: number[] = [];
    const fetchRender: number[] = [];
    const fetches: number[] = [];
    const builds: number[] = [];
    for (let i = 0; i < (quick ? 3 : 5); i++) {
      await page.reload();
      await page.waitForFunction((n) => document.getElementById('board')?.dataset.rendered === String(n) && document.getElementById('board')?.dataset.readyMs, tasks, { timeout: 30_000 });
      const d = await page.evaluate(() => ({ ...document.getElementById('board')!.dataset }));
      renders.push(Number(d.readyMs)); // navigation start → the frame with the board painted
      fetchRender.push(Number(d.loadMs));
      fetches.push(Number(d.fetchMs));
      builds.push(Number(d.renderMs));
    }
    const cards = await page.locator('.card').count();
    // What the board downloads, and how long the server takes for it (seen from the page).
    const api: { ms: number; bytes: number }[] = [];
    for (let i = 0; i < 5; i++) {
      api.push(await page.evaluate(async () => {
        const t0 = performance.now();
        const text = await (await fetch('/api/tasks')).text();
        return { ms: performance.now() - t0, bytes: new TextEncoder().encode(text).length };
      }));
    }
    // Responsive: a keystroke in the search box until the filtered board is painted.
    const keystrokes: number[] = [];
    for (const q of ['number 1', 'number 12', 'blocked', '', 'timeout', '']) {
      keystrokes.push(await page.evaluate((value) => new Promise<number>((resolve) => {
        const input = document.getElementById('search') as HTMLInputElement;
        const t0 = performance.now();
        input.value = value;
        input.dispatchEvent(new Event('input'));
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
      }), q));
    }

    // SSE latency: the page tails attempt-1.md of t6 (an executing task).
    const runDir = join(dir.vault, 'Logs', 'runs', 't6');
    mkdirSync(runDir, { recursive: true });
    const file = join(runDir, 'attempt-1.md');
    writeFileSync(file, '# Run\n\n## Transcript\n');
    await page.goto(`${web.url}/task/t6`);
    await page.waitForFunction(() => (document.getElementById('transcript')?.textContent ?? '').includes('## Transcript'), undefined, { timeout: 10_000 });
    await page.evaluate(() => {
      const pre = document.getElementById('transcript')!;
      const seen: Record<string, number> = {};
      (window as unknown as { __seen: typeof seen }).__seen = seen;
      new MutationObserver(() => {
        for (const m of pre.textContent!.matchAll(/mark-(\d+)-/g)) seen[m[1]!] ??= Date.now();
      }).observe(pre, { childList: true, subtree: true, characterData: true });
    });
    const sent: number[] = [];
    for (let i = 0; i < samples; i++) {
      sent[i] = Date.now();
      appendFileSync(file, `- mark-${i}- ${'x'.repeat(80)}\n`);
      await sleep(60);
    }
    await page.waitForFunction((n) => Object.keys((window as unknown as { __seen: object }).__seen).length >= n, samples, { timeout: 20_000 });
    const seen = await page.evaluate(() => (window as unknown as { __seen: Record<string, number> }).__seen);
    const lat = sent.map((t, i) => seen[String(i)]! - t);

    // Floor: the same append until fs.watch fires in this process.
    const floor: number[] = [];
    const probe = join(dir.root, 'probe.md');
    writeFileSync(probe, '');
    for (let i = 0; i < samples; i++) {
      const w = watch(probe);
      const t0 = performance.now();
      const fired = new Promise<number>((r) => w.once('change', () => r(performance.now() - t0)));
      appendFileSync(probe, 'x\n');
      floor.push(await fired);
      w.close();
    }
    const p50 = median(lat);
    const renderMs = median(renders);
    return {
      name: 'web',
      figures: { tasks, cards, board_cold_ms: cold, board_render_ms: renderMs, board_render_runs: renders, board_fetch_render_ms: median(fetchRender), board_fetch_ms: median(fetches), board_dom_ms: median(builds), api_tasks_ms: round(median(api.map((a) => a.ms))), api_tasks_kb: Math.round(api[0]!.bytes / 1024), search_keystroke_ms: round(median(keystrokes)), search_keystroke_max_ms: round(Math.max(...keystrokes)), sse_p50_ms: p50, sse_p95_ms: round(percentile(lat, 0.95)), sse_max_ms: Math.max(...lat), floor_fs_watch_p50_ms: round(median(floor), 2), samples, loadavg_1m: round(loadavg()[0]!, 1) },
      rows: [
        [`board on screen, ${tasks} active tasks (navigation → rendered, median)`, `${renderMs} ms`, '≤ 1000 ms', verdict(renderMs <= 1000)],
        ['  first visit after the service started (cold, one run)', `${cold} ms`, '', ''],
        ['  of which /api/tasks fetch + render + paint', `${median(fetchRender)} ms`, '', ''],
        ['    fetch + JSON / building the cards', `${median(fetches)} / ${median(builds)} ms`, '', ''],
        ['  /api/tasks alone (server + transfer, median of 5) / size', `${round(median(api.map((a) => a.ms)))} ms / ${Math.round(api[0]!.bytes / 1024)} KB`, '', ''],
        ['search keystroke → filtered board painted (median / max)', `${round(median(keystrokes))} / ${round(Math.max(...keystrokes))} ms`, '', ''],
        ['cards on screen (paged per column)', String(cards), '', ''],
        ['SSE latency, transcript append → page, p50', `${p50} ms`, '≤ 100 ms', verdict(p50 <= 100)],
        ['SSE latency p95 / max', `${round(percentile(lat, 0.95))} / ${Math.max(...lat)} ms`, '', ''],
        ['floor: append → fs.watch in Node, p50', `${round(median(floor), 2)} ms`, '', ''],
        ['machine load (1 min average; 2 cores)', String(round(loadavg()[0]!, 1)), '', ''],
      ],
    };
  } finally {
    await ctx.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
    await web.close();
    await service.stop({ graceMs: 100 });
    dir.cleanup();
  }
}
