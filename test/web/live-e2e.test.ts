/// <reference lib="dom" />
// End to end, as a person uses it: `vaultrunner start --web` (the real CLI as a child process),
// the REAL claude CLI against our scripted model server on 127.0.0.1, and the page in real
// headless Chromium. The model answers in steps gated on what the test has seen on screen, so
// "the transcript grows while the agent runs" is a fact, not a timing guess.
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/config.js';
import { groupGone } from '../agents/cli-test-kit.js';
import { hang, message, startModelServer, text, type ModelServer, type RecordedRequest, type Reply } from '../fixtures/model-server.js';
import { runCli, spawnService, type ServiceProcess } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/vault-harness.js';
import { launchBrowser, type Browser } from './browser.js';

const CLAUDE = join(PACKAGE_ROOT, 'node_modules', '.bin', 'claude');
const LIVE = 'Live task';
const FROM_PAGE = 'From the page';

let root: string;
let vault: string;
let server: ModelServer;
let service: ServiceProcess;
let browser: Browser;
let base: string;
let page: Page;

/** A promise the test resolves when it has seen what it waits for. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}
const liveStep2 = gate();
const pageTaskGo = gate();

/** How many tool calls the conversation holds so far: the step the agent is on. */
const toolTurns = (req: RecordedRequest) => (req.body?.messages ?? []).flatMap((m: { content?: unknown }) => (Array.isArray(m.content) ? m.content : [])).filter((b: { type?: string }) => b?.type === 'tool_result').length;
const globStep = (n: number, words: string): Reply => message({ type: 'text', text: `${words} LIVE-MARK-${n}` }, { type: 'tool_use', id: `toolu_live_${n}`, name: 'Glob', input: { pattern: `step-${n}-*.none` } });

async function handler(req: RecordedRequest): Promise<Reply> {
  if (req.text.includes('LIVE-TASK')) {
    const step = toolTurns(req);
    if (step === 0) return globStep(1, 'Looking around first.');
    if (step === 1) {
      await liveStep2.opened; // only once the page has shown step 1
      return globStep(2, 'Now the second step.');
    }
    return hang(); // the agent waits on the model until it is stopped
  }
  if (req.text.includes('PAGE-TASK')) {
    await pageTaskGo.opened;
    return text('Created from the page and finished.');
  }
  return text('ok');
}

const transcript = (p: Page) => p.evaluate(() => document.getElementById('transcript')?.textContent ?? '');
const liveRequests = (step: number) => server.messageRequests().filter((r) => r.text.includes('LIVE-TASK') && toolTurns(r) === step);

/** The agent's pid from the run's lease (its own process group). */
function agentPid(taskId: string): number | undefined {
  const dir = join(vault, '.vaultrunner', 'leases');
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    try {
      const lease = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { taskId?: string; run?: { pid?: number } };
      if (lease.taskId === taskId && lease.run?.pid) return lease.run.pid;
    } catch {
      // being replaced right now
    }
  }
  return undefined;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'vr-web-e2e-'));
  vault = join(root, 'v');
  const home = join(root, 'home');
  expect(runCli(['init', vault, '--no-examples'], { cwd: root }).code).toBe(0);
  server = await startModelServer({ handler });
  service = spawnService(['--vault', vault, '--web'], {
    cwd: root,
    env: {
      AGENT: 'claude', CLAUDE_BIN: CLAUDE, PERMISSION_MODE: 'acceptEdits', COMMAND_AGENTS: '{}', KILL_GRACE: '2s',
      // The banner probes every agent CLI; the other three are not used here (their start-up is slow on a busy machine).
      ...Object.fromEntries(['CODEX_BIN', 'GEMINI_BIN', 'OPENCODE_BIN'].map((k) => [k, join(root, 'not-installed')])),
      HOME: home, ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', CLAUDE_CODE_MAX_RETRIES: '0',
    },
  });
  browser = await launchBrowser();
  const m = await waitFor(() => /^ {2}web {9}(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)$/m.exec(service.output()), 'the banner with the web address', 45_000);
  base = new URL(m[1]!).origin;
  page = await browser.context.newPage();
  await page.goto(m[1]!); // signs in (cookie), then the board
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (service && service.child.exitCode === null && service.child.signalCode === null) (service.child.kill('SIGKILL'), await service.exited);
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the web page against `start --web` and the real claude CLI', { timeout: 60_000 }, () => {
  it('shows the transcript growing on screen while the agent runs', async () => {
    writeFileSync(join(vault, 'Needs_Action', `${LIVE}.md`), '---\ntype: claude_code\n---\nReport progress in steps. LIVE-TASK\n');
    await page.goto(`${base}/task/${encodeURIComponent(LIVE)}`);
    await page.waitForFunction(() => (document.getElementById('transcript')?.textContent ?? '').includes('LIVE-MARK-1'), undefined, { timeout: 30_000 });
    const first = await transcript(page);
    // Step 2 cannot exist yet (the model holds it back), and the agent is alive, waiting on the model.
    expect(first).not.toContain('LIVE-MARK-2');
    expect(liveRequests(1)).toHaveLength(1);
    expect(await page.locator('#attempts .attempt.live').count()).toBe(1);
    liveStep2.open();
    await page.waitForFunction(() => (document.getElementById('transcript')?.textContent ?? '').includes('LIVE-MARK-2'), undefined, { timeout: 15_000 });
    const second = await transcript(page);
    expect(second.startsWith(first)).toBe(true); // appended on screen, nothing lost or replaced
    expect(second.length).toBeGreaterThan(first.length);
    await waitFor(() => liveRequests(2).length === 1, 'the agent asking the model for step 3');
    expect(readFileSync(join(vault, 'Needs_Action', `${LIVE}.md`), 'utf8')).toMatch(/^status: executing$/m);
  });

  it('pauses from the page: the agent process group is gone and the note says paused', async () => {
    const pid = await waitFor(() => agentPid(LIVE), 'the agent pid in the lease');
    expect(groupGone(pid)).toBe(false);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('claude');
    await page.locator('#actions [data-action="pause"]').click();
    await page.locator('#flash.ok').filter({ hasText: 'paused' }).waitFor({ timeout: 10_000 });
    await waitFor(() => groupGone(pid), `the agent's process group ${pid} gone`, 15_000);
    expect(readFileSync(join(vault, 'Needs_Action', `${LIVE}.md`), 'utf8')).toMatch(/^status: paused$/m);
    await page.locator('#actions .status').filter({ hasText: /^paused$/ }).waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector('#attempts .attempt') && !document.querySelector('#attempts .attempt.live'), undefined, { timeout: 10_000 });
  });

  it('shows an edit made in the note while the page is open, without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    const path = join(vault, 'Needs_Action', `${LIVE}.md`);
    const before = readFileSync(path, 'utf8');
    expect(before).not.toContain('EDITED-IN-OBSIDIAN');
    // An editor's save: temp file, then rename.
    writeFileSync(`${path}.tmp~`, before.replace(/^status: paused$/m, 'status: paused\nreviewer: ana').replace('LIVE-TASK', 'LIVE-TASK\n\nEDITED-IN-OBSIDIAN: keep the old API.'));
    renameSync(`${path}.tmp~`, path);
    await page.locator('#body').filter({ hasText: 'EDITED-IN-OBSIDIAN' }).waitFor({ timeout: 10_000 });
    await page.locator('#props tr[data-key="reviewer"]').filter({ hasText: 'ana' }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
  });

  it('creates a task from the page that appears in Needs_Action/ and runs to done', async () => {
    await page.goto(`${base}/`);
    await page.click('#new-toggle');
    await page.fill('#new-task [name=title]', FROM_PAGE);
    await page.selectOption('#new-task [name=type]', 'claude_code');
    await page.fill('#new-task [name=body]', 'Say hello. PAGE-TASK');
    await page.click('#new-task button[type=submit]');
    await page.locator('#flash').filter({ hasText: `created Needs_Action/${FROM_PAGE}.md` }).waitFor({ timeout: 10_000 });
    // The agent is asked (the model holds its answer): the note is in Needs_Action/, executing.
    await waitFor(() => server.messageRequests().some((r) => r.text.includes('PAGE-TASK')), 'the new task reaching the model', 30_000);
    const note = join(vault, 'Needs_Action', `${FROM_PAGE}.md`);
    expect(readFileSync(note, 'utf8')).toMatch(/^status: executing$/m);
    await page.locator(`.col[data-status="executing"] .card[data-id="${FROM_PAGE}"]`).waitFor({ timeout: 10_000 });
    pageTaskGo.open();
    await page.locator(`.col[data-status="done"] .card[data-id="${FROM_PAGE}"]`).waitFor({ timeout: 30_000 });
    // `status: done` is written in Needs_Action/ and then filed: the page may show the first step before the move lands.
    await waitFor(() => !existsSync(note) && existsSync(join(vault, 'Done', `${FROM_PAGE}.md`)), 'the finished note filed in Done/', 15_000);
    expect(readFileSync(join(vault, 'Done', `${FROM_PAGE}.md`), 'utf8')).toMatch(/^status: done$/m);
    // The paused task stayed paused through all this.
    expect(await page.locator(`.col[data-status="paused"] .card[data-id="${LIVE}"]`).count()).toBe(1);
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });
});
