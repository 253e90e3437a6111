// One run of an agent CLI that prints one JSON event per line (codex, gemini, opencode): spawn in its
// own process group with the prompt on stdin, split and parse its output, end it when it has said
// its last word but does not exit, and hand the exit facts to the adapter's pure classifier.
// Runs on the shared process layer (spawnProcess: process group, bounded lines, idle timeout).
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { AgentError, shortMessage } from '../errors.js';
import { terminateGroup } from '../os/process.js';
import type { AgentEvent, AgentOutcome, AgentProbe, AgentRun, AgentRunRequest, StopReason } from './agent.js';
import { failedRun, idleError, safeCall, spawnProcess } from './process/index.js';

export { failedRun, safeCall };

/** A stateful, pure parser of one CLI's stdout lines. `push` never throws. */
export interface JsonLineParser {
  push(line: string): AgentEvent[];
  /** Events held back until the output ends (e.g. text deltas not yet flushed). */
  finish?(): AgentEvent[];
  /**
   * 'now': end the run at once (e.g. a bad key the CLI would retry for minutes);
   * 'soon': the CLI has reported its end; give it `endGraceMs` to exit on its own.
   */
  readonly end: 'now' | 'soon' | undefined;
}

/** How the process ended, for the adapter's classifier. */
export interface ExitFacts {
  exitCode: number | null;
  signal?: string;
  spawnError?: { code?: string; message: string };
  /** Last bytes of stderr (may contain anything the CLI printed; never put whole into a note). */
  stderrTail: string;
  stopReason?: StopReason;
  /** We ended the process because the parser asked for it. */
  endedByUs: boolean;
  /** The idle timeout ended it after this long without output. */
  idleMs?: number;
}

/** A config file the adapter owns, written before the run (mode 0600: it may name endpoints). */
export interface OwnedFile {
  path: string;
  content: string;
}

export interface JsonCliSpec {
  label: string;
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  input: string;
  files?: OwnedFile[];
  parser: JsonLineParser;
  classify(exit: ExitFacts): AgentOutcome;
  onEvent?: (event: AgentEvent) => void;
  onRawLine?: (line: string) => void;
  /** stdout/stderr to these files instead of pipes (see AgentRunRequest.outputFiles). */
  outputFiles?: { stdout: string; stderr: string };
  /** Longest stdout line kept whole (default 1 MiB). */
  maxLineBytes?: number;
  /** How long a CLI that reported its end may take to exit by itself (default 5 s). */
  endGraceMs?: number;
  /** No output for this long → stopped, retryable AGENT_TIMEOUT (AGENT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  spawn?: typeof execa;
}

const STDERR_LINE_BYTES = 8 * 1024;
const STDERR_TAIL_BYTES = 8 * 1024;

/** The run-request fields every JSON-lines adapter passes the same way (cwd, prompt, sinks, files)
 *  plus the adapter options shared by all three. */
export function requestSpec(req: AgentRunRequest, opts: { maxLineBytes?: number; idleTimeoutMs?: number; endGraceMs?: number; spawn?: typeof execa }): Pick<JsonCliSpec, 'cwd' | 'input' | 'onEvent' | 'onRawLine' | 'outputFiles' | 'maxLineBytes' | 'idleTimeoutMs' | 'endGraceMs' | 'spawn'> {
  return {
    cwd: req.cwd,
    input: req.prompt,
    ...(req.onEvent ? { onEvent: req.onEvent } : {}),
    ...(req.outputFiles ? { outputFiles: req.outputFiles } : {}),
    ...(req.onRawLine ? { onRawLine: req.onRawLine } : {}),
    ...(opts.maxLineBytes !== undefined ? { maxLineBytes: opts.maxLineBytes } : {}),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...(opts.endGraceMs !== undefined ? { endGraceMs: opts.endGraceMs } : {}),
    ...(opts.spawn ? { spawn: opts.spawn } : {}),
  };
}

/** A run whose CLI arguments could not be built (a typed AgentError as is, anything else wrapped). */
export function launchFailed(err: unknown): AgentRun {
  return failedRun(err instanceof AgentError ? err : new AgentError('AGENT_FAILED', shortMessage(err), { cause: err }));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Write the files through a temp name, so a concurrent run never reads half a config. */
export function writeOwnedFiles(files: readonly OwnedFile[]): void {
  for (const f of files) {
    mkdirSync(dirname(f.path), { recursive: true, mode: 0o700 });
    const tmp = `${f.path}.${process.pid}.${Date.now().toString(36)}.tmp`;
    writeFileSync(tmp, f.content, { mode: 0o600 });
    renameSync(tmp, f.path);
  }
}

export function startJsonCli(spec: JsonCliSpec): AgentRun {
  const { label } = spec;
  if (!isDirectory(spec.cwd)) return failedRun(new AgentError('WORKSPACE_DENIED', `working directory does not exist: ${spec.cwd}`));
  try {
    writeOwnedFiles(spec.files ?? []);
  } catch (err) {
    return failedRun(new AgentError('AGENT_FAILED', `could not write the ${label} config: ${shortMessage(err)}`, { cause: err, retryable: true }));
  }
  let stderrTail = '';
  let endedByUs = false;
  let endTimer: NodeJS.Timeout | undefined;
  let pid = 0;
  let control: { exited: boolean } = { exited: false };

  const endNow = () => {
    if (endedByUs || control.exited || pid <= 0) return;
    endedByUs = true;
    void terminateGroup(pid, 1000);
  };
  const onStdoutLine = (line: string) => {
    safeCall(spec.onRawLine, line);
    if (line.trim() === '') return;
    for (const ev of spec.parser.push(line)) safeCall(spec.onEvent, ev);
    if (spec.parser.end === 'now') endNow();
    else if (spec.parser.end === 'soon' && endTimer === undefined) {
      endTimer = setTimeout(endNow, spec.endGraceMs ?? 5000);
      endTimer.unref();
    }
  };
  const handle = spawnProcess({
    program: spec.bin,
    args: spec.args,
    ...(spec.outputFiles ? { outputFiles: spec.outputFiles } : {}),
    cwd: spec.cwd,
    stdin: spec.input, // then stdin is closed: every one of these CLIs waits for EOF
    env: spec.env,
    ...(spec.spawn ? { spawn: spec.spawn } : {}),
    ...(spec.maxLineBytes !== undefined ? { stdoutLineBytes: spec.maxLineBytes } : {}),
    ...(spec.idleTimeoutMs !== undefined ? { idleTimeoutMs: spec.idleTimeoutMs } : {}),
    stderrLineBytes: STDERR_LINE_BYTES,
    onStdoutLine: ({ line }) => onStdoutLine(line),
    onStderrChunk: (chunk) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    },
    onStderrLine: ({ line }) => {
      if (line.trim() !== '') safeCall<AgentEvent>(spec.onEvent, { kind: 'stderr', text: line });
    },
  });
  pid = handle.pid;
  void handle.spawned.then((p) => (pid = p));
  control = handle.control;

  const outcome = handle.exit.then((res): AgentOutcome => {
    if (endTimer !== undefined) clearTimeout(endTimer);
    for (const ev of spec.parser.finish?.() ?? []) safeCall(spec.onEvent, ev);
    const exit: ExitFacts = { exitCode: res.exitCode, stderrTail, endedByUs };
    if (res.signal !== undefined) exit.signal = res.signal;
    if (res.spawnError) exit.spawnError = res.spawnError;
    if (res.stopReason !== undefined) exit.stopReason = res.stopReason;
    if (res.idleMs !== undefined) exit.idleMs = res.idleMs;
    const judged = spec.classify(exit);
    // Exit status unknown (its spawner died): only a success its events prove counts, as for a run
    // adopted after a crash (recoverJsonCli); anything else stays a retryable failure.
    if (!judged.ok && res.lost && res.stopReason === undefined) {
      const asFinished = spec.classify({ ...exit, endedByUs: true });
      if (asFinished.ok) return asFinished;
    }
    return judged;
  });
  return handle.control.run(outcome, `${label} run`);
}

/** The failures every JSON CLI shares, decided before looking at its own events; undefined if none. */
export function commonFailure(label: string, bin: string, pkg: string, exit: ExitFacts): AgentError | undefined {
  if (exit.spawnError) {
    const { code, message } = exit.spawnError;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
      const why = code === 'EACCES' ? 'is not executable' : 'was not found';
      return new AgentError('AGENT_NOT_FOUND', `${label} CLI ${why} at "${bin}"; install ${pkg} or set the agent's bin path`);
    }
    return new AgentError('AGENT_FAILED', shortMessage(`could not start ${label}: ${message}`, 240), { retryable: true });
  }
  if (exit.idleMs !== undefined && !exit.endedByUs) return idleError(`${label} run`, exit.idleMs);
  if (exit.stopReason === 'timeout') return new AgentError('AGENT_TIMEOUT', `${label} run stopped after a timeout`, { retryable: true });
  if (exit.stopReason !== undefined) {
    return new AgentError('AGENT_STOPPED', `${label} run stopped (${exit.stopReason})`, { retryable: exit.stopReason !== 'cancel' });
  }
  return undefined;
}

/** HTTP statuses worth another attempt later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

/** `<bin> --version` → probe. */
export async function probeVersion(bin: string, label: string, pkg: string, env: NodeJS.ProcessEnv, spawn: typeof execa = execa): Promise<AgentProbe> {
  try {
    const res = await spawn(bin, ['--version'], { timeout: 30_000, reject: false, env, extendEnv: false, stdin: 'ignore', maxBuffer: 64 * 1024 });
    const out = String(res.stdout ?? '').trim();
    if ((res as { code?: string }).code === 'ENOENT') return { ok: false, detail: `${label} CLI not found at "${bin}"; install ${pkg} or set the agent's bin path` };
    if (res.timedOut) return { ok: false, detail: `"${bin} --version" did not answer within 30 s` };
    const version = /\d+\.\d+\.\d+\S*/.exec(out)?.[0];
    if (res.exitCode === 0 && version !== undefined) return { ok: true, version, detail: shortMessage(out) };
    const why = shortMessage(String(res.stderr ?? '').trim() || out || res.shortMessage || 'no output');
    return { ok: false, detail: `"${bin} --version" failed (exit ${res.exitCode ?? res.signal ?? '?'}): ${why}` };
  } catch (err) {
    return { ok: false, detail: `could not run "${bin} --version": ${shortMessage(err)}` };
  }
}

/** Parse a line as a JSON object, or say why not (a malformed or spliced line is skipped, never fatal). */
export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Agent.recoverOutcome for a JSON-lines CLI: its saved stdout replayed through a fresh parser.
 * Only a run that reported its own end counts, and only a success is taken (a failure's details
 * may need the live run: it is retried as an interrupted run instead).
 */
export function recoverJsonCli<P extends JsonLineParser>(parser: P, stdout: string, classify: (exit: ExitFacts) => AgentOutcome, finished: (p: P) => boolean = (p) => p.end === 'soon'): AgentOutcome | undefined {
  for (const line of stdout.split('\n')) if (line.trim() !== '') parser.push(line);
  parser.finish?.();
  if (!finished(parser)) return undefined;
  // Judged as a clean exit: only a success is taken, and a success is decided by the events.
  const o = classify({ exitCode: 0, stderrTail: '', endedByUs: true });
  return o.ok ? o : undefined;
}
