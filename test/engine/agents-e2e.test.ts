// The same task note through the whole service with each built-in agent: the REAL claude, codex,
// gemini and opencode CLIs from node_modules, each talking to a scripted model server of ours on
// 127.0.0.1 (no network, no mocks). Each writes a real file through its own tool. For codex, gemini
// and opencode, table-driven: a silent model is stopped at its timeout, a paused run resumes its
// session, and an overload the CLI gives up on is retried by the service; 400/401 through the
// service with codex (each CLI's own agent test covers its 400 and 401). These also stand for the
// agent-level checks not repeated in test/agents (resume; opencode's 5xx and timeout).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/config.js';
import { claudeTestEnv, startModelServer, text, toolUse, type ModelServer } from '../fixtures/model-server.js';
import { chatWire, fail, geminiWire, hangs, responsesWire, say, startScriptedServer, streamFail, write, type ScriptedServer, type Turn } from '../fixtures/scripted-server.js';
import { groupRunning } from '../../src/os/process.js';
import { gitRepoWithCommit } from '../workspace/repo-fixture.js';
import { createHarness, waitFor, type Harness } from '../helpers/vault-harness.js';

const bin = (name: string) => join(PACKAGE_ROOT, 'node_modules', '.bin', name);
/** Keys a run of one agent must not see from another vendor (present in every test's environment). */
const FOREIGN = { OPENAI_API_KEY: 'sk-openai-test', GEMINI_API_KEY: 'gemini-test-key', ANTHROPIC_API_KEY: 'sk-ant-test' };

let h: Harness | undefined;
let scripted: ScriptedServer | undefined;
let anthropic: ModelServer | undefined;
let home: string | undefined;

afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  await scripted?.close();
  await anthropic?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  h = scripted = anthropic = home = undefined;
});

type Name = 'claude' | 'codex' | 'gemini' | 'opencode';
const CLIS = ['codex', 'gemini', 'opencode'] as const;
/** A CLI starts in seconds on a quiet machine, in over a minute on a loaded 2-core one: waits on facts may be long. */
const LOADED = 240_000;

/**
 * An overload each CLI retries a few times itself and then gives up on, so the service's retry is
 * what gets the task done. codex and opencode get an HTTP 503 and honour its `retry-after: 0`
 * (their own retries take under a second). gemini ignores `retry-after` and retries an HTTP 503
 * for minutes, so it gets the Gemini API's other shape of a 503: an UNAVAILABLE error inside the
 * stream, which it retries 3 times (1 + 2 + 4 s) and then exits with the status.
 */
const OVERLOAD: Record<(typeof CLIS)[number], Turn> = { codex: fail(503, 'overloaded'), opencode: fail(503, 'overloaded'), gemini: streamFail(503, 'overloaded') };

/** Start the agent's model server scripted to write `file` then answer, and a service with AGENT=<name>. */
async function setup(name: Name, fileName: string, content: string, config: Record<string, string> = {}): Promise<{ repo: string; file: string }> {
  home = mkdtempSync(join(tmpdir(), 'vr-home-'));
  const slot: { file?: string } = {};
  let agentEnv: Record<string, string>;
  if (name === 'claude') {
    anthropic = await startModelServer({ handler: (req) => (req.toolResults.length ? text(`Wrote ${fileName}.`) : toolUse('Write', { file_path: slot.file!, content })) });
    agentEnv = { ...FOREIGN, ...(claudeTestEnv(anthropic.url, home) as Record<string, string>) };
  } else {
    scripted = await startScriptedServer(name === 'codex' ? responsesWire : name === 'gemini' ? geminiWire : chatWire);
    scripted.script((req) => (req.afterTool ? say(`Wrote ${fileName}.`) : write(slot.file!, content)));
    const endpoint: Record<string, string> = name === 'gemini' ? { GOOGLE_GEMINI_BASE_URL: scripted.url } : { OPENAI_BASE_URL: `${scripted.url}/v1` };
    agentEnv = { ...FOREIGN, ...endpoint };
  }
  h = createHarness({
    AGENT: name,
    [`${name.toUpperCase()}_BIN`]: bin(name),
    MODEL_CODEX: 'gpt-5.1',
    MODEL_GEMINI: 'gemini-test',
    MODEL_OPENCODE: 'test-model',
    PERMISSION_MODE: 'acceptEdits',
    // These tests are about the agents: they work in the repository itself (worktrees: workspace-run.test.ts).
    WORKSPACE_MODE: 'in-place',
    ...config,
  }, { agentEnv });
  const repo = join(h.root, 'repo');
  mkdirSync(repo);
  gitRepoWithCommit(repo);
  slot.file = join(repo, fileName);
  await h.start();
  return { repo, file: slot.file };
}

const sessionIn = (text: string) => /^session_id: "?([^"\s]+)"?$/m.exec(text)?.[1];
/** The note once the task is filed in Done or has failed (a failure is asserted on at once, not waited out). */
const ended = (id: string) => {
  const n = h!.find(id);
  return n && (n.folder === 'Done' || /^status: failed$/m.test(n.text)) && n;
};

describe('every built-in agent through the service', () => {
  // codex, gemini and opencode run a task to done in the overload test below (its second attempt),
  // with the same checks: one run fewer of each CLI in a suite whose time is mostly theirs.
  it('AGENT=claude runs the task note to done, writing a real file', async () => {
    const { repo, file } = await setup('claude', 'hello.txt', 'hello from claude\n');
    h!.drop('hello', `type: claude_code\nworking_dir: ${repo}`, 'Create hello.txt saying hello.\n');
    const done = await waitFor(() => h!.find('hello')?.folder === 'Done' && h!.find('hello'), 'claude task done', 90_000).catch((err: Error) => {
      const log = join(h!.vault, 'Logs', 'runs', 'hello', 'attempt-1.md');
      throw new Error(`${err.message}\n${h!.find('hello')?.text}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(0, 3000) : '(no transcript)'}`);
    });
    expect(done.text).toMatch(/^status: done$/m);
    expect(readFileSync(file, 'utf8')).toBe('hello from claude\n');
    const sessionId = sessionIn(done.text);
    expect(sessionId).toBeTruthy();
    const transcript = readFileSync(join(h!.vault, 'Logs', 'runs', 'hello', 'attempt-1.md'), 'utf8');
    expect(transcript).toContain('Wrote hello.txt.');
    expect(transcript).toContain(sessionId!);
    // The model server saw the prompt from the note.
    expect(anthropic!.messageRequests()[0]!.text).toContain('Create hello.txt saying hello.');
  }, 120_000);

  it.each(CLIS)('AGENT=%s: a silent model is stopped at the timeout with its whole process group, recorded as a timeout', async (name) => {
    const { repo } = await setup(name, 'unused.txt', 'x');
    scripted!.script(() => hangs());
    const pids = new Map<string, number>();
    h!.events.on('run:start', (e) => pids.set(e.taskId, e.pid));
    h!.drop('silent', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 1\ntimeout: 3s`, 'CASE-HANG\n');
    const silent = await waitFor(() => h!.status('silent') === 'failed' && h!.find('silent')!.text, `${name}: silent failed`, 90_000);
    expect(silent).toMatch(/^error: .*timeout/im);
    // The adapter's own AGENT_TIMEOUT (retryable: with max_attempts 1 it fails here), by its type.
    // (The log line may reach its file a moment after the note.)
    expect(await waitFor(() => h!.logLines().find((l) => l.task === 'silent' && l.to === 'failed'), 'failed log line')).toMatchObject({ code: 'AGENT_TIMEOUT', attempt: 1, maxAttempts: 1 });
    expect(pids.get('silent')).toBeGreaterThan(0);
    expect(groupRunning(pids.get('silent')!)).toBe(false);
  }, 150_000);

  // Through the service with one of the three (the cheapest to start): each CLI's own test
  // (test/agents/<cli>-agent.test.ts) checks that its 400 is a permanent AGENT_FAILED and its 401
  // an AGENT_AUTH with the fix; here, that the service takes such a failure as permanent (one
  // attempt, no retry) and writes the one-line fix into the note.
  it('AGENT=codex: a 400 fails at once, a 401 fails fast with the fix, neither retried', async () => {
    const { repo } = await setup('codex', 'unused.txt', 'x');
    scripted!.script((req) => (req.text.includes('CASE-400') ? fail(400, 'prompt is malformed') : fail(401, 'invalid api key')));
    h!.drop('bad-request', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 3`, 'CASE-400\n');
    h!.drop('bad-key', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 3`, 'CASE-401\n');
    const failed = (id: string) => h!.status(id) === 'failed' && h!.find(id)!.text;
    const [badRequest, badKey] = await Promise.all(['bad-request', 'bad-key'].map((id) => waitFor(() => failed(id), `codex: ${id} failed`, 90_000)));
    expect(badRequest).toMatch(/^attempts: 1$/m);
    expect(badRequest, badRequest).toMatch(/^error: .*prompt is malformed/m);
    expect(badKey).toMatch(/^attempts: 1$/m);
    expect(badKey).toMatch(/^error: .*OPENAI_API_KEY/m); // the one-line fix
  }, 150_000);

  it.each(CLIS)('AGENT=%s: paused mid-run (its process group stopped), then set planned, it resumes the same session to done', async (name) => {
    const { repo, file } = await setup(name, 'resumed.txt', 'after resume\n');
    const step = join(repo, 'step-one.txt');
    // First run: one tool call (so the session has history), then a turn that never answers. Resumed: write, then finish.
    let resumeFrom = Infinity;
    scripted!.script((_req, i) => (i < resumeFrom ? (i === 0 ? write(step, 'STEP-ONE-MARKER\n') : hangs()) : i === resumeFrom ? write(file, 'after resume\n') : say('Finished after resume.')));
    const pids: number[] = [];
    h!.events.on('run:start', (e) => e.taskId === 'resumable' && pids.push(e.pid));
    const path = h!.drop('resumable', `type: claude_code\nworking_dir: ${repo}`, 'Refactor the parser.\n');
    // Mid-run: the first tool call done, the next turn asked for and left hanging, the session recorded.
    await waitFor(() => existsSync(step) && scripted!.turns().length >= 2, `${name}: first tool call done, second turn asked`, LOADED);
    const sessionId = await waitFor(() => sessionIn(h!.read(path)), 'session id in the note', 60_000);
    writeFileSync(path, h!.read(path).replace(/^status: executing$/m, 'status: paused') + '\nAlso keep the old API.\n');
    await waitFor(() => h!.status('resumable') === 'paused' && !h!.service!.executor.isRunning('resumable'), 'paused and stopped', 60_000);
    expect(pids).toHaveLength(1);
    expect(groupRunning(pids[0]!)).toBe(false);
    resumeFrom = scripted!.turns().length;
    writeFileSync(path, h!.read(path).replace(/^status: paused$/m, 'status: planned'));
    const done = await waitFor(() => ended('resumable'), `${name}: resumed task ended`, LOADED);
    expect(done.text, done.text).toMatch(/^status: done$/m);
    expect(readFileSync(file, 'utf8')).toBe('after resume\n');
    expect(sessionIn(done.text)).toBe(sessionId);
    // The service asked the CLI to resume the recorded session (--resume / exec resume / -s)…
    expect(h!.logLines().some((l) => l.task === 'resumable' && l.to === 'executing' && l.resume === sessionId)).toBe(true);
    // …and the CLI did: the resumed request carries the first run's tool call, the prompt and the person's new line.
    const resumed = scripted!.turns().slice(resumeFrom);
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(resumed[0]!.text).toContain('STEP-ONE-MARKER');
    expect(resumed[0]!.text).toContain('Refactor the parser.');
    expect(resumed[0]!.text).toContain('Also keep the old API.');
    if (name !== 'gemini') for (const r of resumed) expect(r.sessionId).toBe(sessionId); // gemini's wire carries no session id
  }, 2 * LOADED + 60_000);

  it.each(CLIS)('AGENT=%s: an overload (503) the CLI gives up on is retried by the service, and the task ends done', async (name) => {
    const { repo, file } = await setup(name, 'retried.txt', 'after retry\n');
    let attempt = 0;
    h!.events.on('run:start', (e) => {
      if (e.taskId === 'overloaded') attempt = e.attempt;
    });
    const byAttempt: number[] = [];
    scripted!.script((req) => {
      byAttempt.push(attempt);
      return attempt < 2 ? OVERLOAD[name] : req.afterTool ? say('Wrote retried.txt.') : write(file, 'after retry\n');
    });
    h!.drop('overloaded', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 3`, 'Create retried.txt.\n');
    const done = await waitFor(() => ended('overloaded'), `${name}: retried task ended`, LOADED);
    expect(done.text, done.text).toMatch(/^status: done$/m);
    expect(done.text).toMatch(/^attempts: 2$/m);
    expect(readFileSync(file, 'utf8')).toBe('after retry\n');
    // Attempt 1: the CLI retried the 503 itself, then gave up; attempt 2 was a new run of the CLI.
    expect(byAttempt.filter((a) => a === 1).length).toBeGreaterThanOrEqual(2);
    expect(byAttempt.filter((a) => a === 2).length).toBeGreaterThanOrEqual(1);
    // The log says the service retried it, by the error's type; the first transcript says why.
    const retry = h!.logLines().find((l) => l.task === 'overloaded' && l.from === 'executing' && l.to === 'planned');
    expect(retry, JSON.stringify(h!.logLines().filter((l) => l.task === 'overloaded'))).toMatchObject({ code: 'AGENT_FAILED', attempt: 1, maxAttempts: 3 });
    expect(typeof retry!.retryInMs).toBe('number');
    const runs = join(h!.vault, 'Logs', 'runs', 'overloaded');
    expect(readFileSync(join(runs, 'attempt-1.md'), 'utf8')).toContain('503');
    const transcript = readFileSync(join(runs, 'attempt-2.md'), 'utf8');
    expect(transcript).toContain('Wrote retried.txt.');
    // The run to done, as for claude above: the session recorded in the note and the transcript,
    // the note's prompt on the wire (and, where the wire carries one, the same session), and the
    // CLI's state in the vault's own state dir, never the person's home.
    const sessionId = sessionIn(done.text);
    expect(sessionId).toBeTruthy();
    expect(transcript).toContain(sessionId!);
    expect(scripted!.turns()[0]!.text).toContain('Create retried.txt.');
    if (name !== 'gemini') expect(scripted!.turns().at(-1)!.sessionId).toBe(sessionId);
    expect(existsSync(join(h!.vault, '.vaultrunner', 'agents', name))).toBe(true);
  }, 2 * LOADED + 60_000);
});
