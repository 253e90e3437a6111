// Issue 10 items that live in the engine: drafts wait (template + placeholder body), `retry`
// never overwrites an attempt's transcript, a working_dir outside WORKSPACE_ROOTS fails with
// WORKSPACE_DENIED, and `list` ages a task from its creation. The CLI runs as a child process.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEMPLATE_PLACEHOLDER } from '../../src/domain/readiness.js';
import { TASK_TEMPLATE } from '../../src/vault/bundled.js';
import { runCliAsync } from '../helpers/cli-process.js';
import { createHarness, fixtureAgent, nextEvent, recordEvents, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

const cli = (args: string[], extra: Record<string, string> = {}) =>
  runCliAsync(args, { cwd: h.root, env: { VAULT_DIR: h.vault, WORKSPACE_ROOTS: h.root, AGENT: 'ok', COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok'), fail: fixtureAgent('fail') }), ...extra } });

type Row = { id: string; status: string; waitingOn: string | null; ageMs: number | null; attempts: number };
async function listRows(): Promise<Row[]> {
  const r = await cli(['list', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Row[];
}

describe('drafts', () => {
  it('a note from the template waits as a draft, a placeholder body is not ready, a complete note is picked up at once', async () => {
    expect(TASK_TEMPLATE).toMatch(/^status: draft\b/m);
    expect(TASK_TEMPLATE).toContain(TEMPLATE_PLACEHOLDER);
    h = createHarness();
    const steps = recordEvents(h.events, 'orchestrator:step');
    await h.start();
    // What Obsidian writes for "new note from template" (the template's properties filled in).
    const fromTemplate = TASK_TEMPLATE.replace('{{title}}', 'Untitled').replace('{{date:YYYY-MM-DD}}', '2026-12-01').replace('{{time:HH:mm:ss}}', '10:00:00');
    const untitled = join(h.vault, 'Needs_Action', 'Untitled.md');
    writeFileSync(untitled, fromTemplate);
    // Someone set `status: new` too early, while the body is still the placeholder.
    const early = join(h.vault, 'Needs_Action', 'early.md');
    writeFileSync(early, fromTemplate.replace(/^status: draft.*$/m, 'status: new'));
    h.drop('complete', 'type: claude_code\ntitle: Complete', 'Write the thing.\n');
    await waitFor(() => h.find('complete')?.folder === 'Done', 'the complete note done');
    await waitFor(() => ['Untitled', 'early'].every((id) => steps.list.some((s) => s.taskId === id)), 'drafts looked at');
    expect(readFileSync(untitled, 'utf8')).toBe(fromTemplate); // never touched
    expect(readFileSync(early, 'utf8')).toBe(fromTemplate.replace(/^status: draft.*$/m, 'status: new'));
    expect(h.runs().map((r) => r.task)).toEqual(['complete']);
    const rows = await listRows();
    expect(rows.find((r) => r.id === 'Untitled')).toMatchObject({ status: 'draft', waitingOn: 'draft' });
    expect(rows.find((r) => r.id === 'early')).toMatchObject({ status: 'new', waitingOn: 'draft (body is the template placeholder)' });
    await h.service!.dashboard.flush();
    const dash = readFileSync(join(h.vault, 'Dashboard.md'), 'utf8');
    expect(dash).toMatch(/\[\[Needs_Action\/Untitled\|Untitled\]\] — medium · draft$/m);
    expect(dash).toMatch(/\| draft \| 1 \|/);
    // Written: status new, the placeholder replaced. Now it runs.
    writeFileSync(untitled, fromTemplate.replace(/^status: draft.*$/m, 'status: new').replace(TEMPLATE_PLACEHOLDER, 'Rename the button.'));
    await waitFor(() => h.find('Untitled')?.folder === 'Done', 'the written note done');
  }, 60_000);
});

describe('attempts', () => {
  it('`vaultrunner retry` keeps counting attempts: no transcript is overwritten, and max_attempts applies per cycle', async () => {
    h = createHarness({ AGENT: 'fail', RETRY_BACKOFF: '100ms' });
    await h.start();
    h.drop('flaky', 'type: claude_code\nstatus: planned\nmax_attempts: 1');
    await waitFor(() => h.status('flaky') === 'failed', 'first cycle failed');
    const first = join(h.vault, 'Logs', 'runs', 'flaky', 'attempt-1.md');
    const firstText = readFileSync(first, 'utf8');
    // The service's own record of attempt 2's end (emitted once its index holds the `failed` note):
    // a person's edit before that would race with the service reading its own write.
    const secondEnded = nextEvent(h.events, 'run:end', (e) => e.taskId === 'flaky' && e.attempt === 2, 30_000);
    const r = await cli(['retry', 'flaky']);
    expect(r.code, r.stderr).toBe(0);
    await secondEnded;
    await waitFor(() => h.status('flaky') === 'failed' && /^attempts: 2$/m.test(h.find('flaky')!.text), 'second cycle failed as attempt 2');
    expect(readFileSync(first, 'utf8')).toBe(firstText);
    expect(readFileSync(join(h.vault, 'Logs', 'runs', 'flaky', 'attempt-2.md'), 'utf8')).toContain('attempt 2');
    // A person's hand edit failed → planned starts a cycle too (noticed by the service).
    const path = h.find('flaky')!.path;
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: failed$/m, 'status: planned'));
    await waitFor(() => h.status('flaky') === 'failed' && /^attempts: 3$/m.test(h.find('flaky')!.text), 'third cycle failed as attempt 3');
    expect(h.runs().filter((x) => x.task === 'flaky').map((x) => x.attempt)).toEqual([1, 2, 3]);
    // The log is written asynchronously: wait for the line rather than read the file once.
    await waitFor(() => h.logLines().some((l) => l.task === 'flaky' && l.actor === 'person' && l.msg === 'flaky: failed → planned (person)'), 'the person\'s failed → planned logged');
  }, 60_000);
});

describe('working_dir outside WORKSPACE_ROOTS', () => {
  it('fails the task with WORKSPACE_DENIED at planning, with no stack trace', async () => {
    h = createHarness();
    await h.start();
    h.drop('escape', 'type: claude_code\nworking_dir: /etc');
    const failed = await waitFor(() => h.status('escape') === 'failed' && h.find('escape'), 'failed');
    expect(failed.text).toMatch(/^error: "?WORKSPACE_DENIED: working_dir "?\\?"\/etc\\?"? is outside WORKSPACE_ROOTS/m);
    expect(h.runs()).toEqual([]);
    // The log file is written asynchronously: wait for the line.
    await waitFor(() => h.logLines().some((l) => l.task === 'escape' && l.msg === 'escape: new → failed' && l.code === 'WORKSPACE_DENIED'), 'the failure logged with its code');
    const lines = h.logLines().filter((l) => l.task === 'escape');
    expect(JSON.stringify(lines)).not.toContain('"stack"');
  });
});

describe('list AGE', () => {
  it('counts from the task\'s creation, not from the last write (approve rewrites the note)', async () => {
    h = createHarness();
    await h.start();
    const path = h.drop('risky', 'type: shell_script', 'Do a risky thing.\n');
    const born = statSync(path).birthtimeMs || Date.now();
    await waitFor(() => h.find('risky')?.folder === 'Pending_Approval', 'awaiting approval');
    expect(h.find('risky')!.text).toMatch(/^created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/m); // set once, at the first transition
    await waitFor(() => Date.now() - born > 2500, 'the note is a few seconds old', 5000, 100);
    const approved = await cli(['approve', 'risky']);
    expect(approved.code, approved.stderr).toBe(0);
    await waitFor(() => h.find('risky')?.folder === 'Done', 'approved and done');
    const rows = JSON.parse((await cli(['list', '--json', '--all'])).stdout) as Row[];
    expect(rows.find((r) => r.id === 'risky')!.ageMs).toBeGreaterThanOrEqual(2000);
  }, 30_000);
});
