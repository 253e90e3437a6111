// Shared bits of the real-CLI agent tests: temp dirs, a clean env, event capture, waits on facts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent, AgentEvent, AgentFailure, AgentOutcome, AgentRunRequest, AgentSuccess } from '../../src/agents/agent.js';
import { groupRunning } from '../../src/os/process.js';

export const binPath = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

/** Credentials and endpoints of the person running the tests never reach the CLI under test. */
const DROP = /^(OPENAI_|CODEX_|GEMINI_|GOOGLE_|OPENCODE_|ANTHROPIC_|CLAUDE)/;

export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !DROP.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export interface Dirs {
  cwd: string;
  state: string;
  cleanup(): void;
}

export function tempDirs(prefix: string): Dirs {
  const cwd = realpathSync(mkdtempSync(join(tmpdir(), `vr-${prefix}-wd-`)));
  const state = realpathSync(mkdtempSync(join(tmpdir(), `vr-${prefix}-state-`)));
  execFileSync('git', ['init', '-q'], { cwd });
  return { cwd, state, cleanup: () => [cwd, state].forEach((d) => rmSync(d, { recursive: true, force: true })) };
}

export function startRun(agent: Agent, req: Omit<AgentRunRequest, 'taskId' | 'attempt' | 'onEvent' | 'onRawLine'> & Partial<AgentRunRequest>) {
  const events: AgentEvent[] = [];
  const raw: string[] = [];
  const run = agent.start({ taskId: 'task-1', attempt: 1, onEvent: (e) => events.push(e), onRawLine: (l) => raw.push(l), ...req });
  return { run, events, raw };
}

export function ok(o: AgentOutcome): AgentSuccess {
  if (!o.ok) throw new Error(`expected success, got ${o.error.code}: ${o.error.message}`);
  return o;
}

export function failed(o: AgentOutcome): AgentFailure {
  if (o.ok) throw new Error(`expected failure, got success: ${o.result}`);
  return o;
}

export async function until(cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Is no process of group `pgid` left running? (An orphaned zombie, where PID 1 does not reap as
 *  in this sandbox, runs nothing: the same definition the service uses.) */
export function groupGone(pgid: number): boolean {
  return !groupRunning(pgid);
}
