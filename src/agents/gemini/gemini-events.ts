// Pure: `gemini --output-format stream-json` lines → AgentEvents, and the outcome. Shapes observed
// on @google/gemini-cli 0.61.0: init{session_id, model}, message{role, content, delta},
// tool_use{tool_name, tool_id, parameters}, tool_result{tool_id, status, output|error},
// error{message}, result{status, error?, stats}. It exits 0 on SIGTERM: only `result` says done.
import { AgentError, shortMessage } from '../../errors.js';
import { jsonObjectsInLine } from '../json-lines.js';
import type { AgentEvent, AgentOutcome, AgentTokens } from '../agent.js';
import { commonFailure, isRetryableStatus, lastLine, type ExitFacts, type JsonLineParser } from '../json-cli-run.js';

export const GEMINI_AUTH_FIX = 'set GEMINI_API_KEY (and GOOGLE_GEMINI_BASE_URL for a gateway) in .env for the gemini agent';

/** Exit codes of gemini-cli's fatal errors. */
export const GEMINI_EXIT = { AUTH: 41, INPUT: 42, SANDBOX: 44, CONFIG: 52, TURN_LIMIT: 53, TOOL: 54, UNTRUSTED: 55 } as const;

type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

export class GeminiEventParser implements JsonLineParser {
  sessionId?: string;
  result?: { status: string; errorType?: string; errorMessage?: string };
  /** Message of the last `error` event: the reason when `result` gives none (stderr is mostly noise). */
  lastError?: string;
  /** Assistant text of the last message (deltas joined). */
  lastText?: string;
  tokens?: AgentTokens;
  toolCalls = 0;
  skippedLines = 0;
  end: 'now' | 'soon' | undefined;
  private pending: string[] = [];

  /** One stdout line: a malformed line is counted and skipped, a spliced one split into its events. */
  push(line: string): AgentEvent[] {
    const { objects, skipped } = jsonObjectsInLine(line);
    const out: AgentEvent[] = [];
    if (skipped) {
      this.skippedLines++;
      out.push({ kind: 'other', type: 'non_json' });
    }
    for (const o of objects) out.push(...this.pushObject(o));
    return out;
  }

  private pushObject(ev: Obj): AgentEvent[] {
    const type = str(ev.type) ?? '(no type)';
    if (type === 'message' && ev.role === 'assistant') {
      const text = str(ev.content) ?? '';
      // Deltas of one answer arrive as separate lines; the transcript shows them as one text.
      if (ev.delta === true) this.pending.push(text);
      else return [...this.flush(), this.text(text)];
      return [];
    }
    const out = this.flush();
    switch (type) {
      case 'init': {
        const id = str(ev.session_id);
        if (!id) return [...out, { kind: 'other', type }];
        this.sessionId = id;
        const model = str(ev.model);
        return [...out, model ? { kind: 'init', sessionId: id, model } : { kind: 'init', sessionId: id }];
      }
      case 'tool_use': {
        this.toolCalls++;
        const id = str(ev.tool_id);
        const name = str(ev.tool_name) ?? 'tool';
        return [...out, id ? { kind: 'tool_use', id, name, input: ev.parameters ?? {} } : { kind: 'tool_use', name, input: ev.parameters ?? {} }];
      }
      case 'tool_result': {
        const id = str(ev.tool_id);
        const isError = ev.status !== 'success';
        const content = str(ev.output) ?? str(obj(ev.error)?.message) ?? '';
        return [...out, id ? { kind: 'tool_result', toolUseId: id, isError, content } : { kind: 'tool_result', isError, content }];
      }
      case 'error': {
        const message = str(ev.message);
        if (message) this.lastError = message;
        return [...out, { kind: 'stderr', text: `gemini error: ${message ?? 'error'}` }];
      }
      case 'result': {
        const err = obj(ev.error);
        this.result = { status: str(ev.status) ?? 'unknown' };
        if (err) {
          const t = str(err.type);
          const m = str(err.message);
          if (t !== undefined) this.result.errorType = t;
          if (m !== undefined) this.result.errorMessage = m;
        }
        const stats = obj(ev.stats);
        const input = num(stats?.input_tokens);
        const output = num(stats?.output_tokens);
        if (input !== undefined || output !== undefined) {
          const cached = num(stats?.cached);
          this.tokens = { input: input ?? 0, output: output ?? 0, ...(cached !== undefined ? { cached } : {}) };
        }
        this.end = 'soon';
        return [...out, { kind: 'other', type }];
      }
      default:
        return [...out, { kind: 'other', type: type === 'message' ? `message/${str(ev.role) ?? '?'}` : type }];
    }
  }

  finish(): AgentEvent[] {
    return this.flush();
  }

  private flush(): AgentEvent[] {
    if (this.pending.length === 0) return [];
    const text = this.pending.join('');
    this.pending = [];
    return [this.text(text)];
  }

  private text(text: string): AgentEvent {
    this.lastText = text;
    return { kind: 'text', text };
  }
}

/** gemini exits with an API error's HTTP status mod 256 (400 → 144, 500 → 244). */
export function statusFromExitCode(code: number | null): number | undefined {
  return code !== null && code >= 144 && code <= 255 ? code + 256 : undefined;
}

export function classifyGemini(p: GeminiEventParser, exit: ExitFacts, bin: string): AgentOutcome {
  const common = {
    ...(p.sessionId !== undefined ? { sessionId: p.sessionId } : {}),
    ...(p.lastText !== undefined ? { result: p.lastText } : {}),
    ...(p.tokens !== undefined ? { tokens: p.tokens } : {}),
    permissionDenials: [] as string[],
  };
  // Judged by `result`: it exits 0 on SIGTERM too. A stop() that raced with a finished run does not undo it.
  if (p.result?.status === 'success' && (exit.exitCode === 0 || exit.endedByUs)) {
    return { ok: true, ...common, exitCode: exit.exitCode ?? 0 };
  }
  const fail = (error: AgentError): AgentOutcome => ({ ok: false, error, ...common, exitCode: exit.exitCode, ...(exit.signal !== undefined ? { signal: exit.signal } : {}) });
  const early = commonFailure('gemini', bin, '@google/gemini-cli', exit);
  if (early) return fail(early);
  const one = (s: string) => shortMessage(s, 240);
  const why = p.result?.errorMessage ?? p.lastError ?? lastLine(exit.stderrTail);
  const status = statusFromExitCode(exit.exitCode);
  if (exit.exitCode === GEMINI_EXIT.AUTH || status === 401 || status === 403) {
    return fail(new AgentError('AGENT_AUTH', one(`gemini is not authenticated${status ? ` (${status})` : ''}; ${GEMINI_AUTH_FIX}`)));
  }
  if (status !== undefined) return fail(new AgentError('AGENT_FAILED', one(`gemini API error ${status}: ${why}`), { retryable: isRetryableStatus(status) }));
  if (exit.exitCode === GEMINI_EXIT.INPUT && p.sessionId === undefined) {
    return fail(new AgentError('AGENT_FAILED', one(`gemini refused its input (exit 42; a resumed session needs the same state dir and working directory): ${why}`)));
  }
  const fatal = Object.entries(GEMINI_EXIT).find(([, c]) => c === exit.exitCode)?.[0];
  if (fatal !== undefined) return fail(new AgentError('AGENT_FAILED', one(`gemini failed (${fatal.toLowerCase()}, exit ${exit.exitCode}): ${why}`)));
  if (p.result !== undefined) {
    // An error result with no status to go on: unknown, so worth another attempt.
    return fail(new AgentError('AGENT_FAILED', one(`gemini failed: ${why || p.result.status}`), { retryable: true }));
  }
  const how = exit.signal !== undefined ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode ?? '?'}`;
  return fail(new AgentError('AGENT_PROTOCOL', one(`gemini ${how} without a result event${why ? `: ${why}` : ''}`), { retryable: true }));
}
