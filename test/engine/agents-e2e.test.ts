// The same task note through the whole service with each built-in agent: the REAL claude, codex,
// gemini and opencode CLIs from node_modules, each talking to a scripted model server of ours on
// 127.0.0.1 (no network, no mocks). Each writes a real file through its own tool.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/config.js';
import { claudeTestEnv, startModelServer, text, toolUse, type ModelServer } from '../fixtures/model-server.js';
import { chatWire, fail, geminiWire, hangs, responsesWire, say, startScriptedServer, wait, write, type ScriptedServer } from '../fixtures/scripted-server.js';
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

describe('every built-in agent through the service', () => {
  it.each(['codex', 'gemini', 'opencode', 'claude'] as const)('AGENT=%s runs the task note to done, writing a real file', async (name) => {
    const { repo, file } = await setup(name, 'hello.txt', `hello from ${name}\n`);
    h!.drop('hello', `type: claude_code\nworking_dir: ${repo}`, 'Create hello.txt saying hello.\n');
    const done = await waitFor(() => h!.find('hello')?.folder === 'Done' && h!.find('hello'), `${name} task done`, 90_000).catch((err: Error) => {
      const log = join(h!.vault, 'Logs', 'runs', 'hello', 'attempt-1.md');
      throw new Error(`${err.message}\nrequests: ${(scripted?.requests ?? []).map((r) => `${r.method} ${r.path}`).join(', ')}\n${h!.find('hello')?.text}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(0, 3000) : '(no transcript)'}`);
    });
    expect(done.text).toMatch(/^status: done$/m);
    expect(readFileSync(file, 'utf8')).toBe(`hello from ${name}\n`);
    const sessionId = sessionIn(done.text);
    expect(sessionId).toBeTruthy();
    const transcript = readFileSync(join(h!.vault, 'Logs', 'runs', 'hello', 'attempt-1.md'), 'utf8');
    expect(transcript).toContain('Wrote hello.txt.');
    expect(transcript).toContain(sessionId!);
    // The model server saw the prompt from the note, and (where the wire carries one) the same session.
    if (scripted) {
      expect(scripted.turns()[0]!.text).toContain('Create hello.txt saying hello.');
      if (name !== 'gemini') expect(scripted.turns().at(-1)!.sessionId).toBe(sessionId);
    } else {
      expect(anthropic!.messageRequests()[0]!.text).toContain('Create hello.txt saying hello.');
    }
    // Each built-in agent keeps its state in the vault's own state dir, never the person's home.
    if (name !== 'claude') expect(existsSync(join(h!.vault, '.vaultrunner', 'agents', name))).toBe(true);
  }, 120_000);

  it.each(['codex', 'gemini', 'opencode'] as const)('AGENT=%s: a 400 fails at once, a 401 fails fast with the fix, a silent model is stopped at the timeout with its whole process group', async (name) => {
    const { repo } = await setup(name, 'unused.txt', 'x');
    scripted!.script((req) => (req.text.includes('CASE-400') ? fail(400, 'prompt is malformed') : req.text.includes('CASE-401') ? fail(401, 'invalid api key') : hangs()));
    const pids = new Map<string, number>();
    h!.events.on('run:start', (e) => pids.set(e.taskId, e.pid));
    h!.drop('bad-request', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 3`, 'CASE-400\n');
    h!.drop('bad-key', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 3`, 'CASE-401\n');
    h!.drop('silent', `type: claude_code\nworking_dir: ${repo}\nmax_attempts: 1\ntimeout: 3s`, 'CASE-HANG\n');
    const failed = (id: string) => h!.status(id) === 'failed' && h!.find(id)!.text;
    const [badRequest, badKey, silent] = await Promise.all(['bad-request', 'bad-key', 'silent'].map((id) => waitFor(() => failed(id), `${name}: ${id} failed`, 90_000)));
    // Permanent failures: one attempt each, no retry by the service.
    expect(badRequest).toMatch(/^attempts: 1$/m);
    expect(badRequest, badRequest).toMatch(/^error: .*prompt is malformed/m);
    expect(badKey).toMatch(/^attempts: 1$/m);
    expect(badKey).toMatch(/^error: .*(OPENAI_API_KEY|GEMINI_API_KEY)/m); // the one-line fix
    // The silent one: stopped at its timeout, recorded as one, nothing of it left running.
    expect(silent).toMatch(/^error: .*timeout/im);
    expect(pids.get('silent')).toBeGreaterThan(0);
    expect(groupRunning(pids.get('silent')!)).toBe(false);
  }, 150_000);

  it('pauses a running codex task and resumes the same session', async () => {
    const { repo, file } = await setup('codex', 'resumed.txt', 'after resume\n');
    // First answer comes too late (the task is paused meanwhile); resumed, it writes the file.
    scripted!.script((req, i) => (i === 0 ? wait(30_000, say('too late')) : req.afterTool ? say('Wrote resumed.txt.') : write(file, 'after resume\n')));
    const path = h!.drop('resumable', `type: claude_code\nworking_dir: ${repo}`, 'Refactor the parser.\n');
    await waitFor(() => scripted!.turns().length >= 1, 'first request', 30_000);
    const sessionId = await waitFor(() => sessionIn(h!.read(path)), 'session id in the note', 30_000);
    writeFileSync(path, h!.read(path).replace(/^status: executing$/m, 'status: paused') + '\nAlso keep the old API.\n');
    await waitFor(() => h!.status('resumable') === 'paused' && !h!.service!.executor.isRunning('resumable'), 'paused and stopped', 30_000);
    const before = scripted!.turns().length;
    writeFileSync(path, h!.read(path).replace(/^status: paused$/m, 'status: planned'));
    const done = await waitFor(() => h!.find('resumable')?.folder === 'Done' && h!.find('resumable'), 'resumed task done', 60_000);
    expect(readFileSync(file, 'utf8')).toBe('after resume\n');
    expect(sessionIn(done.text)).toBe(sessionId);
    const resumed = scripted!.turns().slice(before);
    expect(resumed.length).toBeGreaterThan(0);
    for (const r of resumed) expect(r.sessionId).toBe(sessionId);
    // The resumed conversation carries the earlier prompt and the person's new line.
    expect(resumed[0]!.text).toContain('Refactor the parser.');
    expect(resumed[0]!.text).toContain('Also keep the old API.');
  }, 120_000);
});
