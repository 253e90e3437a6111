// Agent adapter for the Claude Code CLI (`claude -p --output-format stream-json --verbose`).
import { execa } from 'execa';
import type { Agent, AgentCapabilities, AgentEvent, AgentOutcome, AgentProbe, AgentRun, AgentRunRequest, StopReason } from '../agent.js';
import { AgentError, shortMessage } from '../../errors.js';
import { terminateGroup } from '../../os/process.js';
import { failedRun, idleError, isNotFound, missingCwd, notFoundWhy, safeCall, spawnProcess, stoppedError } from '../process/index.js';
import { buildClaudeArgs, childEnv } from './claude-args.js';
import {
  PermissionDenialSchema,
  eventSessionId,
  judgeClaudeResult,
  parseClaudeLines,
  salvageCutResult,
  toAgentEvents,
  type ClaudeStreamEvent,
  type ResultMessage,
} from './stream-events.js';

export interface ClaudeAgentOptions {
  /** Path or command name of the `claude` binary. */
  bin: string;
  name?: string;
  /** Process spawner; defaults to execa. */
  spawn?: typeof execa;
  /** Bytes of stderr kept for error messages (default 8 KiB). */
  stderrTailBytes?: number;
  /** Longest stdout line kept whole (default 1 MiB); longer lines are truncated. */
  maxLineBytes?: number;
  /** Model when the request names none (MODEL_CLAUDE); the CLI's default otherwise. */
  model?: string;
  /** No output for this long → stopped, retryable AGENT_TIMEOUT (AGENT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  /** After its `result` event, how long the CLI may take to exit before we end it (default 5 s). */
  afterResultGraceMs?: number;
}

const STDERR_LINE_BYTES = 8 * 1024;

/** Claude Code resumes (--resume), maps every permission mode, reports cost and has a plan mode. */
export const CLAUDE_CAPABILITIES: AgentCapabilities = Object.freeze({
  resume: true,
  permissionModes: Object.freeze(['plan', 'default', 'acceptEdits', 'bypassPermissions'] as const),
  reportsCost: true,
  reportsTokens: false,
  planMode: true,
});

/** Keeps only the last `max` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    if (chunk.length > this.max) chunk = chunk.subarray(chunk.length - this.max);
    this.chunks.push(Buffer.from(chunk)); // copy: a subarray would pin the whole chunk
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

// ---- outcome classification -----------------------------------------------------------------

/** What we learned about one run, in order to judge it. */
interface RunFacts {
  bin: string;
  stderrTail: string;
  exitCode: number | null;
  signal?: string;
  spawnError?: { code?: string; message: string };
  sessionId?: string;
  result?: ResultMessage;
  /** `error` field of a synthetic assistant message, e.g. "authentication_failed". */
  assistantError?: string;
  /** We ended the run ourselves because the CLI started retrying a 401. */
  authRetry?: boolean;
  stopReason?: StopReason;
  /** The idle timeout stopped it after this long without output. */
  idleMs?: number;
  /** It lingered after its result and we ended it. */
  endedAfterResult?: boolean;
  /** The run's spend cap (for the error message). */
  budgetUsd?: number;
}

const AUTH_FIX = 'run `claude` once to log in (`claude /login`) or set ANTHROPIC_API_KEY in .env';
const AUTH_TEXT = /not logged in|invalid api key|failed to authenticate|authentication_failed|\/login\b|\b401\b/i;

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

function denialText(d: unknown): string {
  const p = PermissionDenialSchema.safeParse(d);
  if (!p.success) return shortMessage(JSON.stringify(d), 200);
  const input = (p.data.tool_input ?? {}) as Record<string, unknown>;
  const target = [input.file_path, input.notebook_path, input.path, input.command, input.url].find((v) => typeof v === 'string');
  return shortMessage(target === undefined ? p.data.tool_name : `${p.data.tool_name} ${String(target)}`, 200);
}

function classifyOutcome(f: RunFacts): AgentOutcome {
  const r = f.result;
  const common = {
    ...(f.sessionId !== undefined ? { sessionId: f.sessionId } : {}),
    ...(r?.total_cost_usd !== undefined ? { costUsd: r.total_cost_usd } : {}),
    ...(r?.num_turns !== undefined ? { numTurns: r.num_turns } : {}),
    ...(r?.result !== undefined ? { result: r.result } : {}),
    permissionDenials: (r?.permission_denials ?? []).map(denialText),
  };
  // A run that finished cleanly counts as done even if a stop() raced with its exit, or if it
  // lingered after its result and we ended it.
  if ((f.exitCode === 0 || f.endedAfterResult) && r !== undefined && !r.is_error) {
    return { ok: true, ...common, exitCode: 0 };
  }
  const fail = (error: AgentError): AgentOutcome => ({
    ok: false,
    error,
    ...common,
    exitCode: f.exitCode,
    ...(f.signal !== undefined ? { signal: f.signal } : {}),
  });
  const one = (s: string) => shortMessage(s, 240);

  if (f.spawnError) {
    if (isNotFound(f.spawnError)) {
      return fail(new AgentError('AGENT_NOT_FOUND', `claude CLI ${notFoundWhy(f.spawnError)} at "${f.bin}"; install @anthropic-ai/claude-code or set the agent's bin path`));
    }
    return fail(new AgentError('AGENT_FAILED', one(`could not start claude: ${f.spawnError.message}`), { retryable: true }));
  }
  if (f.authRetry) {
    return fail(new AgentError('AGENT_AUTH', `claude API rejected the credentials (401); ${AUTH_FIX}`));
  }
  if (f.stopReason !== undefined) return fail(stoppedError('claude run', f.stopReason));
  if (f.idleMs !== undefined && !f.endedAfterResult) return fail(idleError('claude run', f.idleMs));

  const stderrLine = lastLine(f.stderrTail);
  if (r === undefined) {
    if (AUTH_TEXT.test(f.stderrTail)) return fail(new AgentError('AGENT_AUTH', one(`claude is not authenticated (${stderrLine}); ${AUTH_FIX}`)));
    // Claude Code refuses bypassPermissions as root unless IS_SANDBOX=1.
    if (/root\/sudo privileges/.test(f.stderrTail)) {
      return fail(new AgentError('PERMISSION_DENIED', one(`claude refused the permission mode: ${stderrLine}`)));
    }
    const how = f.signal !== undefined ? `was killed by ${f.signal}` : `exited with code ${f.exitCode ?? '?'}`;
    return fail(new AgentError('AGENT_PROTOCOL', one(`claude ${how} without a result event${stderrLine ? `: ${stderrLine}` : ''}`), { retryable: true }));
  }

  const text = r.result ?? (r.errors ?? []).map(String).join('; ');
  const status = r.api_error_status ?? undefined;
  if (status === 401 || f.assistantError === 'authentication_failed' || (status === undefined && AUTH_TEXT.test(text))) {
    return fail(new AgentError('AGENT_AUTH', one(`claude is not authenticated (${text}); ${AUTH_FIX}`)));
  }
  // Judged by is_error and structured fields, never by the message text.
  const verdict = judgeClaudeResult(r);
  if (verdict.ok) {
    return fail(new AgentError('AGENT_FAILED', one(`claude reported success but exited with code ${f.exitCode ?? f.signal ?? '?'}`), { retryable: true }));
  }
  switch (verdict.reason) {
    case 'api_error':
      return fail(new AgentError('AGENT_FAILED', one(`claude API error ${verdict.status}: ${text}`), { retryable: verdict.retryable }));
    case 'max_budget': {
      const spent = verdict.costUsd !== undefined ? `spent $${verdict.costUsd.toFixed(2)}` : 'spend not reported';
      return fail(new AgentError('AGENT_FAILED', `claude stopped at the budget cap (${spent}${f.budgetUsd !== undefined ? ` of $${f.budgetUsd}` : ''}); raise budget_usd (up to MAX_BUDGET_USD) to continue`));
    }
    case 'max_turns':
      return fail(new AgentError('AGENT_FAILED', `claude stopped at the max-turns limit (${r.num_turns ?? '?'} turns)`));
    default:
      return fail(new AgentError('AGENT_FAILED', one(`claude failed: ${text || stderrLine || r.subtype}`), { retryable: verdict.retryable }));
  }
}

/** A finished run's outcome, read back from its stdout after a restart (Agent.recoverOutcome):
 *  judged like a live run that lingered after its result; undefined without a result event. */
export function recoverClaudeOutcome(bin: string, stdout: string): AgentOutcome | undefined {
  const facts: RunFacts = { bin, stderrTail: '', exitCode: null, endedAfterResult: true };
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    for (const ev of parseClaudeLines(line)) {
      const sid = eventSessionId(ev);
      if (sid !== undefined) facts.sessionId ??= sid;
      if (ev.kind === 'system_init') facts.sessionId = ev.data.session_id;
      if (ev.kind === 'result') facts.result = ev.data;
      if (ev.kind === 'assistant' && ev.data.error !== undefined) facts.assistantError = ev.data.error;
    }
  }
  return facts.result ? classifyOutcome(facts) : undefined;
}

export function createClaudeAgent(opts: ClaudeAgentOptions): Agent {
  const spawn = opts.spawn ?? execa;
  const bin = opts.bin;
  const tailBytes = opts.stderrTailBytes ?? 8 * 1024;

  function start(req: AgentRunRequest): AgentRun {
    let args: string[];
    try {
      const model = req.model || opts.model;
      args = buildClaudeArgs({ ...req, ...(model ? { model } : {}) });
    } catch (err) {
      return failedRun(err instanceof AgentError ? err : new AgentError('AGENT_FAILED', shortMessage(err), { cause: err }));
    }
    const noCwd = missingCwd(req.cwd);
    if (noCwd) return failedRun(noCwd);

    const facts: RunFacts = { bin, stderrTail: '', exitCode: null, ...(req.maxBudgetUsd !== undefined ? { budgetUsd: req.maxBudgetUsd } : {}) };
    let lingerTimer: NodeJS.Timeout | undefined;
    const stderrTail = new TailBuffer(tailBytes);
    let authAbort = false;
    let pid = 0;

    const onEvent = (ev: ClaudeStreamEvent) => {
      const sid = eventSessionId(ev);
      if (sid !== undefined) facts.sessionId ??= sid;
      if (ev.kind === 'system_init') facts.sessionId = ev.data.session_id;
      if (ev.kind === 'result') {
        facts.result = ev.data;
        // Known headless failure: the CLI keeps running after its result. Give it a few seconds.
        lingerTimer ??= setTimeout(() => {
          if (pid > 0 && facts.exitCode === null) {
            facts.endedAfterResult = true;
            void terminateGroup(pid, 1000);
          }
        }, opts.afterResultGraceMs ?? 5000);
        lingerTimer.unref();
      }
      if (ev.kind === 'non_json') {
        // A malformed or spliced line is skipped (its whole events were kept); the raw line is in the .jsonl.
        safeCall<AgentEvent>(req.onEvent, { kind: 'stderr', text: `vaultrunner: skipped a malformed output line (${ev.reason})` });
      }
      if (ev.kind === 'assistant' && ev.data.error !== undefined) facts.assistantError = ev.data.error;
      // The CLI retries a 401 for minutes; a bad key will not fix itself, so end the run now.
      if (ev.kind === 'api_retry' && (ev.data.error_status === 401 || ev.data.error === 'authentication_failed') && !authAbort) {
        authAbort = true;
        facts.authRetry = true;
        if (pid > 0) void terminateGroup(pid, 1000);
      }
      for (const a of toAgentEvents(ev)) safeCall(req.onEvent, a);
    };
    const handle = spawnProcess({
      program: bin,
      args,
      cwd: req.cwd,
      stdin: req.prompt, // the CLI waits for EOF
      env: childEnv(req.env),
      ...(req.outputFiles ? { outputFiles: req.outputFiles } : {}),
      // Only an injected spawner replaces the default (a file-backed run goes through the spawner process).
      ...(opts.spawn ? { spawn: opts.spawn } : {}),
      ...(opts.maxLineBytes === undefined ? {} : { stdoutLineBytes: opts.maxLineBytes }),
      stderrLineBytes: STDERR_LINE_BYTES,
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
      onStdoutLine: ({ line, truncated }) => {
        safeCall(req.onRawLine, line);
        if (line.trim() === '') return;
        // The one event a run's outcome needs is never dropped for its length (stream-events.ts).
        const cut = truncated ? salvageCutResult(line) : undefined;
        if (cut) return onEvent({ kind: 'result', data: cut });
        for (const ev of parseClaudeLines(line)) onEvent(ev);
      },
      onStderrChunk: (chunk) => stderrTail.push(chunk),
      onStderrLine: ({ line }) => {
        if (line.trim() !== '') safeCall<AgentEvent>(req.onEvent, { kind: 'stderr', text: line });
      },
    });
    pid = handle.pid;
    void handle.spawned.then((p) => (pid = p));

    const outcome: Promise<AgentOutcome> = handle.exit.then((res) => {
      if (lingerTimer) clearTimeout(lingerTimer);
      facts.exitCode = res.exitCode;
      if (res.idleMs !== undefined) facts.idleMs = res.idleMs;
      if (res.signal !== undefined) facts.signal = res.signal;
      if (res.spawnError) facts.spawnError = res.spawnError;
      facts.stderrTail = stderrTail.toString();
      if (res.stopReason !== undefined) facts.stopReason = res.stopReason;
      const judged = classifyOutcome(facts);
      // Exit status unknown (its spawner died): a success its output proves counts, as for a run
      // adopted after a crash (recoverClaudeOutcome); anything else stays a retryable failure.
      if (!judged.ok && res.lost && res.stopReason === undefined) {
        const asFinished = classifyOutcome({ ...facts, endedAfterResult: true });
        if (asFinished.ok) return asFinished;
      }
      return judged;
    });

    return handle.control.run(outcome, 'claude run');
  }

  async function probe(): Promise<AgentProbe> {
    return probeOnce().catch((err: unknown) => ({ ok: false, detail: `could not run "${bin} --version": ${shortMessage(err)}` }));
  }

  async function probeOnce(): Promise<AgentProbe> {
    const res = await spawn(bin, ['--version'], {
      timeout: 10_000,
      reject: false,
      env: childEnv(process.env),
      extendEnv: false,
      stdin: 'ignore',
      maxBuffer: 64 * 1024,
    });
    const out = String(res.stdout ?? '').trim();
    if ((res as { code?: string }).code === 'ENOENT') {
      return { ok: false, detail: `claude CLI not found at "${bin}"; install @anthropic-ai/claude-code or set the agent's bin path` };
    }
    if (res.timedOut) return { ok: false, detail: `"${bin} --version" did not answer within 10 s` };
    const version = /\d+\.\d+\.\d+\S*/.exec(out)?.[0];
    if (res.exitCode === 0 && version !== undefined) return { ok: true, version, detail: shortMessage(out) };
    const why = shortMessage(String(res.stderr ?? '').trim() || out || res.shortMessage || 'no output');
    return { ok: false, detail: `"${bin} --version" failed (exit ${res.exitCode ?? res.signal ?? '?'}): ${why}` };
  }

  return { name: opts.name ?? 'claude', kind: 'claude', capabilities: CLAUDE_CAPABILITIES, start, probe, recoverOutcome: (stdout) => recoverClaudeOutcome(bin, stdout) };
}
