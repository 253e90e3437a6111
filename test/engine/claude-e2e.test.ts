// The whole service with the REAL claude CLI from node_modules, talking to our scripted model
// server on 127.0.0.1. No network, no mocks: the CLI really writes files and runs tools.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, error, hang, text, toolUse, type RecordedRequest } from '../fixtures/model-server.js';
import { gitRepoWithCommit } from '../workspace/repo-fixture.js';
import { claudeHarness, startClaudeRig, type ClaudeRig } from '../helpers/claude-rig.js';
import { createHarness, eventsFrom, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
let rig: ClaudeRig;

afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  await rig?.close();
});

async function setup(handler: (req: RecordedRequest, i: number) => ReturnType<typeof text>, config: Record<string, string> = {}, extraEnv: NodeJS.ProcessEnv = {}) {
  rig = await startClaudeRig(handler);
  h = claudeHarness(rig, { WORKSPACE_MODE: 'in-place', ...config }, extraEnv);
  const repo = join(h.root, 'repo');
  gitRepoWithCommit(repo);
  await h.start();
  return repo;
}

const lastUserText = (req: RecordedRequest) => req.text;
const isPlan = (req: RecordedRequest) => req.text.includes('Plan mode is active');

describe('Claude Code through the service', () => {
  it('runs a task whose agent writes a real file in a git working dir, and records session and cost', async () => {
    let repo = '';
    repo = await setup((req) => (req.toolResults.length ? text('Wrote hello.txt.') : toolUse('Write', { file_path: join(repo, 'hello.txt'), content: 'hello from claude\n' })));
    h.drop('hello', `type: claude_code\nworking_dir: ${repo}`, 'Create hello.txt saying hello.\n');
    const done = await waitFor(() => h.find('hello')?.folder === 'Done' && h.find('hello'), 'claude task done', 30_000);
    expect(readFileSync(join(repo, 'hello.txt'), 'utf8')).toBe('hello from claude\n');
    const sessionId = /^session_id: "?([^"\s]+)"?$/m.exec(done.text)?.[1];
    expect(sessionId).toBe(rig.server.messageRequests()[0]!.sessionId);
    expect(done.text).toMatch(/^cost_usd: \d+(\.\d+)?$/m);
    const transcript = readFileSync(join(h.vault, 'Logs', 'runs', 'hello', 'attempt-1.md'), 'utf8');
    expect(transcript).toContain('Write');
    expect(transcript).toContain('hello.txt');
    expect(transcript).toContain('Wrote hello.txt.');
    const raw = readFileSync(join(h.vault, 'Logs', 'runs', 'hello', 'attempt-1.jsonl'), 'utf8');
    expect(raw).toContain('"type":"result"');
    // The prompt carried the task body and went through stdin (never argv).
    expect(lastUserText(rig.server.messageRequests()[0]!)).toContain('Create hello.txt saying hello.');
  }, 60_000);

  it('plans with the agent in plan mode and writes the plan note', async () => {
    await setup((req) => (isPlan(req) ? text('## Plan\n\n1. Look around.\n2. Change it.\n\n- [ ] It works') : text('Done.')), { PLANNER: 'agent' });
    h.drop('planned-by-claude', 'type: claude_code', 'Improve the README.\n');
    await waitFor(() => h.find('planned-by-claude')?.folder === 'Done', 'done', 30_000);
    const plan = readFileSync(join(h.vault, 'Plans', 'PLAN_planned-by-claude.md'), 'utf8');
    expect(plan).toContain('planner: agent');
    expect(plan).toContain('1. Look around.');
    expect(plan).toContain('task: "[[planned-by-claude]]"');
    const [planReq, runReq] = rig.server.messageRequests();
    expect(isPlan(planReq!)).toBe(true);
    expect(isPlan(runReq!)).toBe(false);
    expect(runReq!.text).toContain('1. Look around.'); // the plan is part of the run's prompt
  }, 60_000);

  it('surfaces a planning failure as an error on its task without blocking others', async () => {
    await setup((req) => {
      if (isPlan(req)) return req.text.includes('BROKEN') ? error(400, 'invalid_request_error', 'cannot plan this') : text('1. Do it.');
      return text('Done.');
    }, { PLANNER: 'agent', RETRY_BACKOFF: '100ms' });
    h.drop('unplannable', 'type: claude_code', 'BROKEN task\n');
    h.drop('plannable', 'type: claude_code', 'A fine task\n');
    await waitFor(() => h.find('plannable')?.folder === 'Done', 'the other task done', 30_000);
    const stuck = await waitFor(() => /^error: .*planning failed/m.test(h.find('unplannable')!.text) && h.find('unplannable')!, 'planning error on the task', 30_000);
    expect(stuck.text).not.toMatch(/^status:/m); // still new: a person can fix it and it is planned again
    // It gave up: no more planning requests for this note until a person edits it…
    const planCalls = () => rig.server.messageRequests().filter((r) => isPlan(r) && r.text.includes('BROKEN')).length;
    const given = planCalls();
    await eventsFrom(h.events, 'orchestrator:step', 3, (e) => e.taskId === 'unplannable'); // several orchestrator passes
    expect(planCalls()).toBe(given);
    // …and an edit gets it planned again.
    writeFileSync(stuck.path, stuck.text.replace('BROKEN task', 'A repaired task'));
    await waitFor(() => h.find('unplannable')?.folder === 'Done', 'repaired task done', 30_000);
  }, 60_000);

  it('reports a permission denial when the task asks for less than it needs', async () => {
    let repo = '';
    repo = await setup((req) => (req.toolResults.length ? text('I could not write the file.') : toolUse('Write', { file_path: join(repo, 'denied.txt'), content: 'x' })));
    h.drop('careful-write', `type: claude_code\nworking_dir: ${repo}\npermission_mode: default`);
    // Refused something it needed: a person looks at it (in_review), it is never silently done.
    await waitFor(() => h.status('careful-write') === 'in_review', 'in review', 30_000);
    expect(existsSync(join(repo, 'denied.txt'))).toBe(false);
    const transcript = readFileSync(join(h.vault, 'Logs', 'runs', 'careful-write', 'attempt-1.md'), 'utf8');
    expect(transcript).toMatch(/denial/i);
    expect(transcript).toContain('denied.txt');
    const warning = h.logLines().find((l) => l.task === 'careful-write' && Array.isArray(l.denials));
    expect(String((warning?.denials as string[] | undefined)?.[0])).toContain('denied.txt');
  }, 60_000);

  it('refuses a task that asks for more than the permission ceiling, without running it', async () => {
    await setup(() => text('should never be asked'), { PERMISSION_MODE: 'default' });
    h.drop('greedy', 'type: claude_code\npermission_mode: bypassPermissions');
    const failed = await waitFor(() => h.status('greedy') === 'failed' && h.find('greedy'), 'refused', 20_000);
    expect(failed.text).toMatch(/^error: .*ceiling/m);
    expect(rig.server.messageRequests()).toHaveLength(0);
  }, 60_000);

  it('retries an API error with backoff and then marks the task failed', async () => {
    await setup(() => error(529, 'overloaded_error', 'Overloaded'), { RETRY_BACKOFF: '100ms' }, { CLAUDE_CODE_MAX_RETRIES: '0' });
    h.drop('overloaded', 'type: claude_code\nmax_attempts: 2');
    const failed = await waitFor(() => h.status('overloaded') === 'failed' && h.find('overloaded'), 'failed', 40_000);
    expect(failed.text).toMatch(/^attempts: 2$/m);
    expect(failed.text).toMatch(/^error: .*529/m);
    expect(rig.server.messageRequests()).toHaveLength(2);
  }, 60_000);

  it('fails at once, without retrying, on a 400', async () => {
    await setup(() => error(400, 'invalid_request_error', 'prompt is malformed'));
    h.drop('malformed', 'type: claude_code\nmax_attempts: 3');
    const failed = await waitFor(() => h.status('malformed') === 'failed' && h.find('malformed'), 'failed', 30_000);
    expect(failed.text).toMatch(/^attempts: 1$/m);
    // One attempt and one CLI run. (The pinned CLI sends one request; newer 2.x CLIs repeat a 400
    // inside the same run: that is the CLI's business, not a retry of ours.)
    expect(existsSync(join(h.vault, 'Logs', 'runs', 'malformed', 'attempt-2.md'))).toBe(false);
    expect(new Set(rig.server.messageRequests().map((r) => r.sessionId)).size).toBe(1);
  }, 60_000);

  it('pauses a running Claude task and resumes the same session', async () => {
    await setup((req, i) => (i === 0 ? delay(20_000, text('too late')) : text('Continued and finished.')));
    const path = h.drop('resumable', 'type: claude_code', 'Refactor the parser.\n');
    await waitFor(() => rig.server.messageRequests().length === 1, 'first request', 30_000);
    const sessionId = await waitFor(() => /^session_id: "?([^"\s]+)"?$/m.exec(h.read(path))?.[1], 'session id in the note', 10_000);
    writeFileSync(path, h.read(path).replace(/^status: executing$/m, 'status: paused') + '\nAlso keep the old API.\n');
    await waitFor(() => h.status('resumable') === 'paused' && !h.service!.executor.isRunning('resumable'), 'paused and stopped', 15_000);
    writeFileSync(path, h.read(path).replace(/^status: paused$/m, 'status: planned'));
    await waitFor(() => h.find('resumable')?.folder === 'Done', 'resumed task done', 30_000);
    const resumed = rig.server.messageRequests().at(-1)!;
    expect(resumed.sessionId).toBe(sessionId);
    // The resumed request carries the earlier conversation plus the new instruction.
    expect(resumed.text).toContain('Refactor the parser.');
    expect(resumed.text).toContain('Also keep the old API.');
    expect(resumed.text).toMatch(/Continue the task/);
  }, 90_000);

  it('takes a 1 MB task body through stdin', async () => {
    await setup(() => text('Read it all.'));
    const body = `Start of a long task.\n${'lorem ipsum dolor sit amet '.repeat(40_000)}\nEND-MARKER\n`;
    h.drop('huge', 'type: claude_code', body);
    await waitFor(() => h.find('huge')?.folder === 'Done', 'done', 60_000);
    expect(rig.server.messageRequests()[0]!.text).toContain('END-MARKER');
    expect(Buffer.byteLength(body)).toBeGreaterThan(1_000_000);
  }, 90_000);

  it('stops an agent that never answers at its timeout and records a timeout', async () => {
    await setup(() => hang());
    h.drop('silent', 'type: claude_code\ntimeout: 2s\nmax_attempts: 1');
    const failed = await waitFor(() => h.status('silent') === 'failed' && h.find('silent'), 'timed out', 30_000);
    expect(failed.text).toMatch(/^error: .*timeout/m);
  }, 60_000);

  it('treats a stream that ends without a result as a failure', async () => {
    rig = await startClaudeRig(() => text('unused'));
    h = createHarness({ AGENT: 'claude', CLAUDE_BIN: join(import.meta.dirname, '..', 'fixtures', 'fake-claude-noresult.mjs'), RETRY_BACKOFF: '100ms' });
    await h.start();
    h.drop('truncated', 'type: claude_code\nmax_attempts: 2');
    const failed = await waitFor(() => h.status('truncated') === 'failed' && h.find('truncated'), 'failed', 30_000);
    expect(failed.text).toMatch(/^error: .*result/m);
    expect(failed.text).toMatch(/^attempts: 2$/m);
  }, 60_000);
});

