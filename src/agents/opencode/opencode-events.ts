// Pure: `opencode run --format json` lines → AgentEvents, and the outcome. Shapes observed on
// opencode-ai 1.18.33: step_start, text{part.text}, tool_use{part.tool, part.callID, part.state},
// step_finish{part.reason, part.tokens, part.cost}, error{error{name, data{statusCode,
// isRetryable}}}, each with sessionID. There is no final result event: the exit ends the run.
import { AgentError, shortMessage } from '../../errors.js';
import { jsonObjectsInLine } from '../json-lines.js';
import type { AgentEvent, AgentOutcome, AgentTokens } from '../agent.js';
import { commonFailure, isRetryableStatus, lastLine, type ExitFacts, type JsonLineParser } from '../json-cli-run.js';

export const OPENCODE_AUTH_FIX = 'set OPENAI_API_KEY (and OPENAI_BASE_URL for a gateway) in .env for the opencode agent';

type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

export interface OpencodeError {
  name: string;
  message: string;
  statusCode?: number;
  isRetryable?: boolean;
}

export class OpencodeEventParser implements JsonLineParser {
  sessionId?: string;
  steps = 0;
  /** `reason` of the last step_finish ("stop" when the model ended its answer). */
  lastReason?: string;
  lastText?: string;
  tokens?: AgentTokens;
  costUsd?: number;
  error?: OpencodeError;
  /** Tool calls that ended in an error (opencode reports a refused permission this way). */
  toolErrors: string[] = [];
  skippedLines = 0;
  end: 'now' | 'soon' | undefined;

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
    const out: AgentEvent[] = [];
    const sid = str(ev.sessionID);
    if (sid && this.sessionId === undefined) {
      this.sessionId = sid;
      out.push({ kind: 'init', sessionId: sid });
    }
    const type = str(ev.type) ?? '(no type)';
    const part = obj(ev.part);
    switch (type) {
      case 'step_start':
        this.steps++;
        return [...out, { kind: 'other', type }];
      case 'text': {
        const text = str(part?.text) ?? '';
        this.lastText = text;
        return [...out, { kind: 'text', text }];
      }
      case 'tool_use': {
        const state = obj(part?.state);
        const id = str(part?.callID);
        const name = str(part?.tool) ?? 'tool';
        out.push(id ? { kind: 'tool_use', id, name, input: state?.input ?? {} } : { kind: 'tool_use', name, input: state?.input ?? {} });
        const status = str(state?.status);
        if (status === 'completed' || status === 'error') {
          const isError = status === 'error';
          const content = str(state?.output) ?? str(state?.error) ?? '';
          if (isError) this.toolErrors.push(shortMessage(`${name}: ${content}`, 200));
          out.push(id ? { kind: 'tool_result', toolUseId: id, isError, content } : { kind: 'tool_result', isError, content });
        }
        return out;
      }
      case 'step_finish': {
        const reason = str(part?.reason);
        if (reason !== undefined) this.lastReason = reason;
        const t = obj(part?.tokens);
        if (t) {
          const cur = this.tokens ?? { input: 0, output: 0 };
          cur.input += num(t.input) ?? 0;
          cur.output += num(t.output) ?? 0;
          const cached = num(obj(t.cache)?.read);
          if (cached !== undefined) cur.cached = (cur.cached ?? 0) + cached;
          this.tokens = cur;
        }
        const cost = num(part?.cost);
        if (cost !== undefined) this.costUsd = (this.costUsd ?? 0) + cost;
        return [...out, { kind: 'other', type }];
      }
      case 'error': {
        const e = obj(ev.error);
        const data = obj(e?.data);
        const err: OpencodeError = { name: str(e?.name) ?? 'UnknownError', message: str(data?.message) ?? str(e?.message) ?? 'error' };
        const status = num(data?.statusCode);
        if (status !== undefined) err.statusCode = status;
        if (typeof data?.isRetryable === 'boolean') err.isRetryable = data.isRetryable;
        this.error = err;
        // It has given up (after its own retries); seen to linger after some errors, so end it soon.
        this.end = 'soon';
        return [...out, { kind: 'stderr', text: `opencode error: ${err.name}: ${err.message}` }];
      }
      default:
        return [...out, { kind: 'other', type }];
    }
  }
}

export function classifyOpencode(p: OpencodeEventParser, exit: ExitFacts, bin: string): AgentOutcome {
  const common = {
    ...(p.sessionId !== undefined ? { sessionId: p.sessionId } : {}),
    ...(p.steps > 0 ? { numTurns: p.steps } : {}),
    ...(p.lastText !== undefined ? { result: p.lastText } : {}),
    ...(p.tokens !== undefined ? { tokens: p.tokens } : {}),
    ...(p.costUsd !== undefined ? { costUsd: p.costUsd } : {}),
    permissionDenials: [] as string[],
  };
  const fail = (error: AgentError): AgentOutcome => ({ ok: false, error, ...common, exitCode: exit.exitCode, ...(exit.signal !== undefined ? { signal: exit.signal } : {}) });
  const early = commonFailure('opencode', bin, 'opencode-ai', exit);
  if (early) return fail(early);
  const one = (s: string) => shortMessage(s, 240);
  const e = p.error;
  if (e) {
    const s = e.statusCode;
    if (s === 401 || s === 403 || e.name === 'ProviderAuthError') return fail(new AgentError('AGENT_AUTH', one(`opencode API rejected the credentials${s ? ` (${s})` : ''}; ${OPENCODE_AUTH_FIX}`)));
    const retryable = s !== undefined ? isRetryableStatus(s) : (e.isRetryable ?? e.name === 'UnknownError');
    return fail(new AgentError('AGENT_FAILED', one(`opencode ${s !== undefined ? `API error ${s}` : e.name}: ${e.message}`), { retryable }));
  }
  // No result event: a clean exit after a step the model ended itself is success.
  if (exit.exitCode === 0 && p.lastReason === 'stop') return { ok: true, ...common, exitCode: 0 };
  if (exit.exitCode === 0 && p.lastReason !== undefined) {
    // It stops without a final answer when a tool is refused in `run` mode (and still exits 0).
    const why = p.toolErrors.at(-1);
    return fail(new AgentError('AGENT_FAILED', one(`opencode stopped before finishing (last step: ${p.lastReason ?? 'none'})${why ? `; last tool error: ${why}` : ''}`)));
  }
  const stderrLine = lastLine(exit.stderrTail);
  const how = exit.signal !== undefined ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode ?? '?'}`;
  return fail(new AgentError('AGENT_PROTOCOL', one(`opencode ${how} without finishing a step${stderrLine ? `: ${stderrLine}` : ''}`), { retryable: true }));
}
