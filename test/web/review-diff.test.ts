/// <reference lib="dom" />
// The review's diff on the task page, unified or side by side, in real Chromium. The review is
// made the way the workspace pipeline makes it: a real git repository, commitAll capturing the
// diff and the full .patch, renderReviewNote, writeReview into Reviews/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchScratchPath, writeReview } from '../../src/executor/pipeline/review-writer.js';
import { renderReviewNote } from '../../src/runs/review-note.js';
import { commitAll } from '../../src/workspace/commit.js';
import { launchBrowser, type Browser } from './browser.js';
import { startWebHarness, type WebHarness } from './web-harness.js';

let w: WebHarness;
let browser: Browser;
const ID = 'Harden the form';
const EVIL = `  const html = '<script>window.__pwned=1</script></td><img src=x onerror="window.__pwned=2">';`;

async function makeReview(): Promise<void> {
  const repo = join(w.workspace, 'api');
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  const before = ['export function form() {', '  const a = 1;', '  const b = 2;', '  const c = 3;', '  return a + b + c;', '}', ''];
  writeFileSync(join(repo, 'form.ts'), before.join('\n'));
  writeFileSync(join(repo, 'old.txt'), 'going away\n');
  git('add', '-A');
  git('commit', '-qm', 'base');
  const base = git('rev-parse', 'HEAD').trim();
  // Three lines out, two in (one paired row has nothing on the right); a line of markup; no final newline.
  writeFileSync(join(repo, 'form.ts'), ['export function form() {', '  const sum = 6;', EVIL, '  return sum;', '}'].join('\n'));
  unlinkSync(join(repo, 'old.txt'));
  writeFileSync(join(repo, 'new file.md'), '# Hello\n');
  const scratch = await patchScratchPath(w.h.service!.ctx, ID);
  const c = await commitAll({ cwd: repo, baseCommit: base, title: ID, taskId: ID, capture: { maxChars: 60_000, patchPath: scratch } });
  const text = renderReviewNote({
    taskId: ID, taskLink: ID, generatedAt: '2026-12-01 20:00', branch: 'vaultrunner/harden', baseBranch: 'main', baseCommit: base, headCommit: c.headCommit,
    criteria: [], summary: 'Done.', gates: [], files: c.files, insertions: c.insertions, deletions: c.deletions, diff: c.diff!, patchLink: `Reviews/${ID}.patch`,
  });
  await writeReview(w.h.service!.ctx, ID, text, scratch);
}

beforeAll(async () => {
  [w, browser] = await Promise.all([startWebHarness(), launchBrowser()]);
  await makeReview();
  w.h.drop(ID, `type: claude_code\nstatus: in_review\nreview: "[[Reviews/${ID}]]"`);
  // A review note with only its diff fence (no .patch beside it): a plain unified diff.
  mkdirSync(join(w.h.vault, 'Reviews'), { recursive: true });
  writeFileSync(join(w.h.vault, 'Reviews', 'Fence only.md'), '# Review\n\n## Diff\n\n````diff\n--- a/x.ts\n+++ b/x.ts\n@@ -1,2 +1,2 @@\n keep\n-old line\n+new <b>line</b>\n````\n\nAfter the diff.\n');
  w.h.drop('Fence only', 'type: claude_code\nstatus: in_review');
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

async function open(path: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(w.web.urlWithToken);
  await page.goto(`${w.web.url}${path}`);
  return page;
}

const cells = (page: Page, sel: string) => page.locator(sel).evaluateAll((els) => els.map((e) => e.textContent));

describe('review diff on the task page', { timeout: 60_000 }, () => {
  it('shows the full patch unified, escaped, with line numbers, and side by side on the toggle (remembered)', async () => {
    const page = await open(`/task/${encodeURIComponent(ID)}`);
    const view = page.locator('#review .diff-view');
    await view.waitFor({ timeout: 10_000 });
    expect(await view.getAttribute('data-mode')).toBe('unified');
    expect(await view.locator('.diff-head').innerText()).toContain(`3 files, +5 −6 · from Reviews/${ID}.patch`);
    expect(await cells(page, '.diff-file .diff-path')).toEqual(['form.ts', 'new file.md', 'old.txt']);
    expect(await cells(page, '.diff-file .badge')).toEqual(['added', 'deleted']);
    // In place of the note's own ```diff block, under "## Diff": only one diff on the page.
    expect(await page.locator('#review pre.diff').count()).toBe(0);
    expect(await page.evaluate(() => document.querySelector('#review .diff-view')?.previousElementSibling?.textContent)).toBe('Diff');

    // Unified: old and new line numbers beside each line; the markup line is text, never HTML.
    const form = page.locator('.diff-file[data-path="form.ts"]');
    const rows = await form.locator('tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    expect(rows).toEqual([
      ['@@ -1,6 +1,5 @@'],
      ['1', '1', ' export function form() {'],
      ['2', '', '-  const a = 1;'],
      ['3', '', '-  const b = 2;'],
      ['4', '', '-  const c = 3;'],
      ['5', '', '-  return a + b + c;'],
      ['6', '', '-}'],
      ['', '2', '+  const sum = 6;'],
      ['', '3', `+${EVIL}`],
      ['', '4', '+  return sum;'],
      ['', '5', '+}'],
      ['\\ No newline at end of file'],
    ]);
    expect(await page.locator('#review script, #review img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    // Side by side: removals beside the additions that replace them, context on both sides.
    await page.click('.diff-mode [data-mode="split"]');
    await page.locator('#review .diff-view[data-mode="split"]').waitFor();
    expect(await page.locator('.diff-mode [data-mode="split"]').getAttribute('aria-pressed')).toBe('true');
    const split = await page.locator('.diff-file[data-path="form.ts"] tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    expect(split[1]).toEqual(['1', ' export function form() {', '1', ' export function form() {']);
    expect(split[2]).toEqual(['2', '-  const a = 1;', '2', '+  const sum = 6;']);
    expect(split[3]).toEqual(['3', '-  const b = 2;', '3', `+${EVIL}`]);
    expect(split.some((r) => r[1] === '-  const c = 3;' && r[3] === '+  return sum;')).toBe(true);
    expect(await page.locator('.diff-file[data-path="form.ts"] td.d-empty').count()).toBeGreaterThan(0); // a removal with nothing beside it
    expect(await page.locator('.diff-file[data-path="old.txt"] td.d-empty').count()).toBe(1);
    expect(await page.locator('#review script, #review img').count()).toBe(0);

    // The choice is remembered in this browser.
    await page.reload();
    await page.locator('#review .diff-view[data-mode="split"]').waitFor({ timeout: 10_000 });
    await page.click('.diff-mode [data-mode="unified"]');
    await page.locator('#review .diff-view[data-mode="unified"]').waitFor();
    await page.close();
  });

  it('falls back to the diff in the review note when there is no .patch, escaped', async () => {
    const page = await open('/task/Fence%20only');
    const view = page.locator('#review .diff-view');
    await view.waitFor({ timeout: 10_000 });
    expect(await view.locator('.diff-head').innerText()).toContain('1 file, +1 −1 · from Reviews/Fence only.md');
    expect(await cells(page, '.diff-file td.code')).toEqual([' keep', '-old line', '+new <b>line</b>']);
    expect(await page.locator('#review b').count()).toBe(0);
    // The rest of the note is still there, after the diff.
    expect(await page.evaluate(() => document.querySelector('#review .diff-view')?.nextElementSibling?.textContent)).toBe('After the diff.');
    await page.close();
  });
});
