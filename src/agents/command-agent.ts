// Agent adapter for operator-defined command agents (COMMAND_AGENTS: name -> argv). The argv comes
// from the operator's config, never from a note; the prompt goes to stdin, stdout lines become text.
//
// Protocol (all optional): a stdout line that is exactly a JSON object
//   {"vaultrunner":"session","id":"...","model":"..."}        reports a session id (init event)
//   {"vaultrunner":"result","cost_usd":0.01,"num_turns":1,"result":"..."}   reports the result
// Every other stdout line is a text event. Success iff the exit code is 0.
// Environment: VAULTRUNNER_TASK_ID, VAULTRUNNER_ATTEMPT, VAULTRUNNER_PERMISSION_MODE (the mode to
// honour), and VAULTRUNNER_RESUME_SESSION when continuing a session it reported earlier.
import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { AgentError, shortMessage } from '../errors.js';
import type { Agent, AgentCapabilities, AgentEvent, AgentOutcome, AgentProbe, AgentRun, AgentRunRequest } from './agent.js';
import { cleanEnv, failedRun, idleError, isNotFound, missingCwd, notFoundWhy, safeCall, spawnProcess, stoppedError } from './process/index.js';

export interface CommandAgentOptions {
  name: string;
  /** Program and arguments; argv[0] is an absolute path, a path relative to the service's cwd, or a name on PATH. */
  argv: readonly string[];
  /** No output for this long → stopped, retryable AGENT_TIMEOUT (AGENT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
}

/** Longest stdout line kept (longer ones are cut): bounds memory whatever the child prints. */
const MAX_LINE_BYTES = 64 * 1024;
const STDERR_LINE_BYTES = 8 * 1024;
// Interpreters whose first argument is the script that really is the agent (probe checks it too).
const INTERPRETERS = /^(node|nodejs|python[0-9.]*|bash|sh|zsh|deno|bun|ruby|perl)$/;

/**
 * Command agents resume through VAULTRUNNER_RESUME_SESSION and are told the permission mode to
 * honour, but nothing confines them: so they are never run under the read-only `plan` ceiling.
 */
export const COMMAND_CAPABILITIES: AgentCapabilities = Object.freeze({
  resume: true,
  permissionModes: Object.freeze(['default', 'acceptEdits', 'bypassPermissions'] as const),
  reportsCost: true,
  reportsTokens: false,
  planMode: false,
});

/** The child's environment: the request's, plus our variables, minus what must not leak. */
export function commandEnv(req: Pick<AgentRunRequest, 'env' | 'taskId' | 'attempt' | 'resumeSessionId'> & { permissionMode?: AgentRunRequest['permissionMode'] }): NodeJS.ProcessEnv {
  return cleanEnv(req.env, {
    VAULTRUNNER_TASK_ID: req.taskId,
    VAULTRUNNER_ATTEMPT: String(req.attempt),
    VAULTRUNNER_RESUME_SESSION: req.resumeSessionId || undefined,
    VAULTRUNNER_PERMISSION_MODE: req.permissionMode,
  });
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




export function createCommandAgent(opts: CommandAgentOptions): Agent {
  const { name } = opts;
  if (opts.argv.length === 0 || !opts.argv[0]) throw new AgentError('AGENT_NOT_FOUND', `command agent "${name}" has an empty argv`);
  // A relative program path means relative to where the service started, not to the task's cwd.
  const program = opts.argv[0].includes('/') && !isAbsolute(opts.argv[0]) ? resolve(opts.argv[0]) : opts.argv[0];
  const args = opts.argv.slice(1);
  const label = `command agent "${name}" (${basename(program)})`;

  function start(req: AgentRunRequest): AgentRun {
    const noCwd = missingCwd(req.cwd);
    if (noCwd) return failedRun(noCwd);

    const facts: Facts = { lastStderr: '' };
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
    const handle = spawnProcess({
      program,
      args,
      cwd: req.cwd,
      stdin: req.prompt,
      env: commandEnv(req),
      ...(req.outputFiles ? { outputFiles: req.outputFiles } : {}),
      stdoutLineBytes: MAX_LINE_BYTES,
      stderrLineBytes: STDERR_LINE_BYTES,
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
      onStdoutLine: (l) => onStdout(l.line, l.truncated ? l.bytes - MAX_LINE_BYTES : 0),
      onStderrLine: ({ line }) => {
        if (line.trim() === '') return;
        facts.lastStderr = line;
        safeCall<AgentEvent>(req.onEvent, { kind: 'stderr', text: line });
      },
    });

    const outcome: Promise<AgentOutcome> = handle.exit.then((res) => {
      const exitCode = res.exitCode;
      const common = {
        ...(facts.sessionId !== undefined ? { sessionId: facts.sessionId } : {}),
        ...(facts.costUsd !== undefined ? { costUsd: facts.costUsd } : {}),
        ...(facts.numTurns !== undefined ? { numTurns: facts.numTurns } : {}),
        ...(facts.result !== undefined ? { result: facts.result } : {}),
        permissionDenials: [] as string[],
      };
      const fail = (error: AgentError): AgentOutcome => ({ ok: false, error, ...common, exitCode, ...(res.signal !== undefined ? { signal: res.signal } : {}) });
      if (res.spawnError) {
        if (isNotFound(res.spawnError)) return fail(new AgentError('AGENT_NOT_FOUND', `${label}: "${program}" ${notFoundWhy(res.spawnError)}; fix COMMAND_AGENTS`));
        return fail(new AgentError('AGENT_FAILED', shortMessage(`${label} could not start: ${res.spawnError.message}`, 240), { retryable: true }));
      }
      if (res.stopReason !== undefined) return fail(stoppedError(label, res.stopReason));
      if (res.idleMs !== undefined) return fail(idleError(label, res.idleMs));
      if (exitCode === 0) return { ok: true as const, ...common, exitCode: 0 };
      const how = res.signal !== undefined ? `was killed by ${res.signal}` : `exited with code ${exitCode ?? '?'}`;
      const last = facts.lastStderr.trim();
      return fail(new AgentError('AGENT_FAILED', shortMessage(`${how}${last ? `: ${last}` : ''}`, 240), { retryable: true }));
    });

    return handle.control.run(outcome, label);
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

  return { name, kind: 'command', capabilities: COMMAND_CAPABILITIES, start, probe };
}
