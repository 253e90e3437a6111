/// <reference lib="dom" />
// Regenerates docs/web-board.png, docs/web-task.png and docs/web-review.png: a temp vault with example tasks, the
// service and web view in-process (the running attempt is stated, no agent runs), Debian's headless chromium. node --import tsx scripts/web-screenshots.ts
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config/config.js';
import { loadWebConfig } from '../src/web/web-config.js';
import { silentLogger } from '../src/log/logger.js';
import { createRunTranscript } from '../src/runs/transcript.js';
import { renderReviewNote } from '../src/runs/review-note.js';
import { startService } from '../src/service/service.js';
import { initVault } from '../src/vault/init-vault.js';
import { startWebView } from '../src/web/start-web.js';

const root = mkdtempSync(join(tmpdir(), 'vr-shots-'));
const vault = join(root, 'vault');
const api = join(root, 'src', 'api');
mkdirSync(api, { recursive: true });
await initVault(vault, { examples: false });
const note = (folder: string, id: string, fm: string, body = 'Do the thing.\n') => writeFileSync(join(vault, folder, `${id}.md`), `---\n${fm}\n---\n${body}`);
note('Needs_Action', 'Add a health endpoint', 'type: claude_code\nstatus: executing\npriority: high\nagent: claude\nattempts: 1\nplan: "[[PLAN_Add a health endpoint]]"\ncreated: 2026-12-01T15:40:00', 'GET /health returns 200 and the git sha.\n\n## Acceptance criteria\n\n- [ ] `curl localhost:8080/health` shows the sha\n- [ ] a test covers it\n');
note('Plans', 'PLAN_Add a health endpoint', 'task: "[[Add a health endpoint]]"', '# Plan\n\n1. Find the router.\n2. Add `GET /health` returning `{ ok: true, sha }`.\n3. Add a test; run the suite.\n');
note('Needs_Action', 'Bump dependencies', 'type: claude_code\nstatus: planned\npriority: urgent\ncreated: 2026-12-01T09:10:00');
note('Needs_Action', 'Write release notes', 'type: claude_code\nstatus: planned\npriority: medium\nblocked_by:\n  - "[[Bump dependencies]]"\ncreated: 2026-12-01T11:00:00');
note('Needs_Action', 'Fix flaky login test', 'type: claude_code\nstatus: in_review\npriority: high\nattempts: 1\ncost_usd: 0.37\nreview: "[[Reviews/Fix flaky login test]]"\ncreated: 2026-11-30T17:00:00', 'The login test fails one run in ten.\n\n## Acceptance criteria\n\n- [ ] the test passes 50 runs in a row\n');
const loginDiff = [
  'diff --git a/test/login.test.ts b/test/login.test.ts',
  'index 3f2a1c0..8b9d4e2 100644',
  '--- a/test/login.test.ts',
  '+++ b/test/login.test.ts',
  '@@ -8,10 +8,11 @@ describe(\'login\', () => {',
  '   it(\'signs in with a valid password\', async () => {',
  '     const page = await open(\'/login\');',
  '     await page.fill(\'#user\', \'ana\');',
  '     await page.fill(\'#password\', \'correct horse\');',
  '-    await page.click(\'#submit\');',
  '-    await sleep(500);',
  '-    expect(await page.textContent(\'h1\')).toBe(\'Welcome, ana\');',
  '+    await Promise.all([page.waitForURL(\'/home\'), page.click(\'#submit\')]);',
  '+    // Wait for the fact (the redirect), not for time.',
  '+    await page.locator(\'h1\').filter({ hasText: \'Welcome, ana\' }).waitFor();',
  '+    expect(await page.cookies()).toContainEqual(expect.objectContaining({ name: \'session\' }));',
  '   });',
  ' ',
  '   it(\'refuses a wrong password\', async () => {',
  '',
].join('\n');
mkdirSync(join(vault, 'Reviews'), { recursive: true });
writeFileSync(join(vault, 'Reviews', 'Fix flaky login test.md'), renderReviewNote({
  taskId: 'Fix flaky login test', taskLink: 'Fix flaky login test', generatedAt: '2026-11-30 17:20', branch: 'vaultrunner/fix-flaky-login-test', baseBranch: 'main',
  baseCommit: '3f2a1c09d1e2', headCommit: '8b9d4e27aa10', criteria: [{ text: 'the test passes 50 runs in a row', met: true, evidence: 'ran it 50 times: 50 passed' }],
  summary: 'The test slept 500 ms and then read the heading; on a slow run the redirect had not happened yet. It now waits for the redirect and the heading.',
  gates: [{ name: 'npm test', ok: true, exitCode: 0, durationMs: 8400, outputTail: '' }], files: [{ path: 'test/login.test.ts', insertions: 4, deletions: 3 }], insertions: 4, deletions: 3,
  diff: { text: loginDiff, truncated: false, bytes: loginDiff.length },
}));
note('Needs_Action', 'Migrate CI to arm64', 'type: claude_code\nstatus: failed\npriority: medium\nattempts: 3\ncost_usd: 1.12\nerror: "timeout after 10m (attempt 3 of 3)"\ncreated: 2026-11-29T10:00:00');
note('Needs_Action', 'Tidy the README', 'type: claude_code\nstatus: paused\npriority: low\ncreated: 2026-11-28T10:00:00');
note('Needs_Action', 'Triage new issues', 'type: claude_code\nstatus: new\npriority: medium');
note('Pending_Approval', 'Rotate the staging keys', 'type: ops\nstatus: awaiting_approval\npriority: high\ncreated: 2026-12-01T08:00:00');
note('Done', 'Set up the vault', 'type: claude_code\nstatus: done\nattempts: 1\ncost_usd: 0.08');

const config = loadConfig({ VAULT_DIR: vault, ORCHESTRATOR_AUTORUN: 'false', EXECUTOR_AUTORUN: 'false', WATCHDOG_AUTORUN: 'false', COMMAND_AGENTS: '{}', WORKSPACE_ROOTS: join(root, 'src'), LOG_LEVEL: 'silent' }, {}, root);
const service = await startService({ config, logger: silentLogger() });
const web = await startWebView({ web: loadWebConfig({ WEB_PORT: '0' }), deps: { ...service.ctx, runs: () => [{ taskId: 'Add a health endpoint', attempt: 1, agent: { name: 'claude' } }] }, logger: silentLogger() });
const t = await createRunTranscript({ runsDir: join(vault, 'Logs', 'runs'), vaultRoot: vault, taskId: 'Add a health endpoint', attempt: 1, header: { agent: 'claude', model: 'claude-sonnet', workingDir: api, startedAt: Date.now() - 95_000, permissionMode: 'acceptEdits' }, flushMs: 10 });
t.onEvent({ kind: 'init', sessionId: '7d1c9a40-5b2e-4f1e-9a43-0c2d8e1f6b77', model: 'claude-sonnet', cwd: api });
t.onEvent({ kind: 'text', text: "I'll look at the router first, then add the endpoint and a test." });
t.onEvent({ kind: 'tool_use', id: '1', name: 'Grep', input: { pattern: 'router\\.get' } });
t.onEvent({ kind: 'tool_result', toolUseId: '1', content: 'src/routes.ts:12: router.get("/users", listUsers)', isError: false });
t.onEvent({ kind: 'tool_use', id: '2', name: 'Edit', input: { file_path: join(api, 'src/routes.ts') } });
t.onEvent({ kind: 'tool_result', toolUseId: '2', content: 'ok', isError: false });
t.onEvent({ kind: 'text', text: 'Added `GET /health`. Now the test.' });
t.onEvent({ kind: 'tool_use', id: '3', name: 'Bash', input: { command: 'npm test -- health' } });
await new Promise((r) => setTimeout(r, 100));

const profile = mkdtempSync(join(tmpdir(), 'vr-shots-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'], viewport: { width: 1560, height: 760 }, colorScheme: 'light' });
try {
  const page = await ctx.newPage();
  await page.goto(web.urlWithToken);
  await page.locator('.card[data-id="Add a health endpoint"]').waitFor();
  await page.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'web-board.png') });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${web.url}/task/${encodeURIComponent('Add a health endpoint')}`);
  await page.waitForFunction(() => (document.getElementById('transcript')?.textContent ?? '').includes('npm test'));
  t.onEvent({ kind: 'tool_result', toolUseId: '3', content: 'PASS test/health.test.ts (2 tests)', isError: false });
  await page.waitForFunction(() => (document.getElementById('transcript')?.textContent ?? '').includes('PASS'));
  await page.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'web-task.png'), fullPage: true });
  await page.setViewportSize({ width: 1400, height: 820 });
  await page.goto(`${web.url}/task/${encodeURIComponent('Fix flaky login test')}`);
  await page.locator('.diff-mode [data-mode="split"]').click();
  await page.locator('#review .diff-view[data-mode="split"]').waitFor();
  await page.locator('#review .diff-view').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'web-review.png') });
} finally {
  await ctx.close();
  await t.finish({ status: 'done', durationMs: 1 });
  await web.close();
  await service.stop();
  rmSync(profile, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
}
