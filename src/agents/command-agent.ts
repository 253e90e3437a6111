// Agent adapter for operator-defined command agents (COMMAND_AGENTS: name -> argv). The argv comes
// from the operator's config, never from a note; the prompt goes to stdin, stdout lines become text.
//
// Protocol (all optional): a stdout line that is exactly a JSON object
//   {"vaultrunner":"session","id":"...","model":"..."}        reports a session id (init event)
//   {"vaultrunner":"result","cost_usd":0.01,"num_turns":1,"result":"..."}   reports the result
// Every other stdout line is a text event. Success iff the exit code is 0.
import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { AgentError, shortMessage } from '../errors.js';
import type { Agent, AgentEvent, AgentOutcome, AgentProbe, AgentRun, AgentRunRequest } from './agent.js';
import { LineSplitter } from './line-splitter.js';
import { RunControl } from './run-control.js';

export interface CommandAgentOptions {
  name: string;
  /** Program and arguments; argv[0] is an absolute path, a path relative to the service's cwd, or a name on PATH. */
  argv: readonly string[];
}

/** Longest stdout line kept (longer ones are cut): bounds memory whatever the child prints. */
const MAX_LINE_BYTES = 64 * 1024;
const STDERR_LINE_BYTES = 8 * 1024;
// Interpreters whose first argument is the script that really is the agent (probe checks it too).
const INTERPRETERS = /^(node|nodejs|python[0-9.]*|bash|sh|zsh|deno|bun|ruby|perl)$/;

/** The child's environment: the request's, plus our variables, minus what must not leak. */
export function commandEnv(req: Pick<AgentRunRequest, 'env' | 'taskId' | 'attempt' | 'resumeSessionId'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...req.env, VAULTRUNNER_TASK_ID: req.taskId, VAULTRUNNER_ATTEMPT: String(req.attempt) };
  delete env.VAULTRUNNER_RESUME_SESSION;
  if (req.resumeSessionId) env.VAULTRUNNER_RESUME_SESSION = req.resumeSessionId;
  // Set inside a Claude Code session; a nested `claude` would refuse to start or misbehave.
  delete env.CLAUDECODE;
  return env;
}

/** Where `cmd` would be executed from, or why not. Does not run it. */
export function resolveExecutable(cmd: string, pathEnv: string | undefined): { path: string } | { error: string } {
  const usable = (p: string): boolean => {
    try {
      if (!statSync(p).isFile()) return false;
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) {
    const p = resolve(cmd);
    return usable(p) ? { path: p } : { error: `"${p}" does not exist or is not an executable file` };
  }
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir && usable(join(dir, cmd))) return { path: join(dir, cmd) };
  }
  return { error: `"${cmd}" was not found on PATH` };
}

interface Facts {
  sessionId?: string;
  costUsd?: number;
  numTurns?: number;
  result?: string;
  lastStderr: string;
}

/** A `{"vaultrunner": ...}` protocol line, or undefined for ordinary output. */
function protocolLine(line: string): Record<string, unknown> | undefined {
  const t = line.trim();
  if (!t.startsWith('{') || !t.includes('"vaultrunner"')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as Record<string, unknown>).vaultrunner === 'string' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function safeCall<T>(fn: ((arg: T) => void) | undefined, arg: T): void {
  try {
    fn?.(arg);
  } catch {
    // A failing transcript sink must not break the run.
  }
}

function failedRun(error: AgentError): AgentRun {
  return { pid: 0, outcome: Promise.resolve({ ok: false, error, permissionDenials: [], exitCode: null }), stop: async () => {} };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function createCommandAgent(opts: CommandAgentOptions): Agent {
  const { name } = opts;
  if (opts.argv.length === 0 || !opts.argv[0]) throw new AgentError('AGENT_NOT_FOUND', `command agent "${name}" has an empty argv`);
  // A relative program path means relative to where the service started, not to the task's cwd.
  const program = opts.argv[0].includes('/') && !isAbsolute(opts.argv[0]) ? resolve(opts.argv[0]) : opts.argv[0];
  const args = opts.argv.slice(1);
  const label = `command agent "${name}" (${basename(program)})`;

  function start(req: AgentRunRequest): AgentRun {
    // Node reports a missing cwd as "spawn <program> ENOENT"; say what is really wrong.
    if (!isDirectory(req.cwd)) return failedRun(new AgentError('WORKSPACE_DENIED', `working directory does not exist: ${req.cwd}`));

    const facts: Facts = { lastStderr: '' };
    const child = execa(program, args, {
      cwd: req.cwd,
      input: req.prompt, // written to stdin, then stdin is closed
      env: commandEnv(req),
      extendEnv: false, // exactly our env: the parent's CLAUDECODE must not come back in
      detached: true, // own process group, so stop() ends everything the agent started
      buffer: false, // streamed through bounded line splitters, never held whole
      reject: false,
      stripFinalNewline: false,
    });
    const pid = child.pid ?? 0;
    const control = new RunControl(pid);
    const out = new LineSplitter({ maxLineBytes: MAX_LINE_BYTES });
    const err = new LineSplitter({ maxLineBytes: STDERR_LINE_BYTES });

    const onStdout = (line: string, cut: number) => {
      safeCall(req.onRawLine, line);
      const msg = protocolLine(line);
      if (msg?.vaultrunner === 'session' && typeof msg.id === 'string' && msg.id) {
        facts.sessionId = msg.id;
        safeCall<AgentEvent>(req.onEvent, { kind: 'init', sessionId: msg.id, ...(typeof msg.model === 'string' ? { model: msg.model } : {}), cwd: req.cwd });
      } else if (msg?.vaultrunner === 'result') {
        if (typeof msg.cost_usd === 'number' && Number.isFinite(msg.cost_usd)) facts.costUsd = msg.cost_usd;
        if (typeof msg.num_turns === 'number' && Number.isInteger(msg.num_turns)) facts.numTurns = msg.num_turns;
        if (typeof msg.result === 'string') facts.result = msg.result;
        safeCall<AgentEvent>(req.onEvent, { kind: 'other', type: 'result' });
      } else if (line.trim() !== '') {
        safeCall<AgentEvent>(req.onEvent, { kind: 'text', text: cut > 0 ? `${line} … (${cut} more bytes cut)` : line });
      }
    };
    const onStderr = (line: string) => {
      if (line.trim() === '') return;
      facts.lastStderr = line;
      safeCall<AgentEvent>(req.onEvent, { kind: 'stderr', text: line });
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const l of out.push(chunk)) onStdout(l.line, l.truncated ? l.bytes - MAX_LINE_BYTES : 0);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const l of err.push(chunk)) onStderr(l.line);
    });
    control.watchExit(child);

    const outcome: Promise<AgentOutcome> = (async () => {
      const res = await child;
      for (const l of out.end()) onStdout(l.line, l.truncated ? l.bytes - MAX_LINE_BYTES : 0);
      for (const l of err.end()) onStderr(l.line);
      await control.endLeftovers();
      const exitCode = res.exitCode ?? null;
      const common = {
        ...(facts.sessionId !== undefined ? { sessionId: facts.sessionId } : {}),
        ...(facts.costUsd !== undefined ? { costUsd: facts.costUsd } : {}),
        ...(facts.numTurns !== undefined ? { numTurns: facts.numTurns } : {}),
        ...(facts.result !== undefined ? { result: facts.result } : {}),
        permissionDenials: [] as string[],
      };
      const fail = (error: AgentError): AgentOutcome => ({ ok: false, error, ...common, exitCode, ...(res.signal !== undefined ? { signal: res.signal } : {}) });
      const spawnCode = (res as { code?: string }).code;
      if (res.failed && res.exitCode === undefined && res.signal === undefined && spawnCode !== undefined) {
        if (spawnCode === 'ENOENT' || spawnCode === 'EACCES' || spawnCode === 'ENOTDIR') {
          const why = spawnCode === 'EACCES' ? 'is not executable' : 'was not found';
          return fail(new AgentError('AGENT_NOT_FOUND', `${label}: "${program}" ${why}; fix COMMAND_AGENTS`));
        }
        return fail(new AgentError('AGENT_FAILED', shortMessage(`${label} could not start: ${res.originalMessage ?? spawnCode}`, 240), { retryable: true }));
      }
      const stopReason = control.stopReason;
      if (stopReason === 'timeout') return fail(new AgentError('AGENT_TIMEOUT', `${label} stopped after a timeout`, { retryable: true }));
      if (stopReason !== undefined) return fail(new AgentError('AGENT_STOPPED', `${label} stopped (${stopReason})`, { retryable: stopReason !== 'cancel' }));
      if (exitCode === 0) return { ok: true as const, ...common, exitCode: 0 };
      const how = res.signal !== undefined ? `was killed by ${res.signal}` : `exited with code ${exitCode ?? '?'}`;
      const last = facts.lastStderr.trim();
      return fail(new AgentError('AGENT_FAILED', shortMessage(`${how}${last ? `: ${last}` : ''}`, 240), { retryable: true }));
    })();

    return control.run(outcome, label);
  }

  async function probe(): Promise<AgentProbe> {
    const found = resolveExecutable(program, process.env.PATH);
    if ('error' in found) return { ok: false, detail: `${label}: ${found.error}` };
    const script = args[0];
    if (INTERPRETERS.test(basename(found.path)) && script !== undefined && isAbsolute(script)) {
      try {
        statSync(script);
      } catch {
        return { ok: false, detail: `${label}: script "${script}" does not exist` };
      }
    }
    return { ok: true, detail: `${label}: ${[found.path, ...args].join(' ')}` };
  }

  return { name, kind: 'command', start, probe };
}
