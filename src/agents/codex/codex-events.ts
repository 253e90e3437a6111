// Pure: `codex exec --json` lines → AgentEvents plus what the outcome needs; and the outcome itself.
// Shapes observed on @openai/codex 0.171.0: thread.started{thread_id}, turn.started,
// item.started/item.completed{item}, turn.completed{usage}, error{message}, turn.failed{error}.
import { AgentError, shortMessage } from '../../errors.js';
import { jsonObjectsInLine } from '../json-lines.js';
import type { AgentEvent, AgentOutcome, AgentTokens } from '../agent.js';
import { commonFailure, isRetryableStatus, lastLine, parseJsonObject, type ExitFacts, type JsonLineParser } from '../json-cli-run.js';

export const CODEX_AUTH_FIX = 'set OPENAI_API_KEY (and OPENAI_BASE_URL for a gateway) in .env for the codex agent';

/** Structured error kind codex records in its rollout file (`codex_error_info`): a name, or `{variant: {http_status_code}}`. */
export type CodexErrorInfo = string | Record<string, { http_status_code?: number | null } | null>;

type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

export class CodexEventParser implements JsonLineParser {
  sessionId?: string;
  completed = false;
  failed?: string;
  /** An `error` event codex recovered from (a later turn.completed), kept as context. */
  recoveredError?: string;
  lastText?: string;
  turns = 0;
  tokens?: AgentTokens;
  skippedLines = 0;
  end: 'now' | 'soon' | undefined;
  private readonly started = new Set<string>();
  private turnFailed = false;

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
    switch (type) {
      case 'thread.started': {
        const id = str(ev.thread_id);
        if (!id) return [{ kind: 'other', type }];
        this.sessionId = id;
        return [{ kind: 'init', sessionId: id }];
      }
      case 'item.started':
      case 'item.completed':
        return this.item(type === 'item.completed', obj(ev.item));
      case 'turn.completed': {
        this.completed = true;
        // codex reports its own retries ("Reconnecting... 1/3") as `error` events: finishing the turn after them wins.
        if (this.failed !== undefined && !this.turnFailed) {
          this.recoveredError = this.failed;
          this.failed = undefined;
        }
        this.turns++;
        const u = obj(ev.usage);
        if (u) this.addTokens(num(u.input_tokens) ?? 0, num(u.output_tokens) ?? 0, num(u.cached_input_tokens));
        this.end = 'soon';
        return [{ kind: 'other', type }];
      }
      case 'turn.failed': {
        this.failed = str(obj(ev.error)?.message) ?? this.failed ?? 'turn failed';
        this.turnFailed = true;
        this.end = 'soon';
        return [{ kind: 'other', type }];
      }
      case 'error': {
        const msg = str(ev.message) ?? 'error';
        this.failed = msg;
        return [{ kind: 'stderr', text: `codex error: ${msg}` }];
      }
      default:
        return [{ kind: 'other', type }];
    }
  }

  private addTokens(input: number, output: number, cached?: number): void {
    const t = this.tokens ?? { input: 0, output: 0 };
    t.input += input;
    t.output += output;
    if (cached !== undefined) t.cached = (t.cached ?? 0) + cached;
    this.tokens = t;
  }

  private item(done: boolean, item: Obj | undefined): AgentEvent[] {
    if (!item) return [{ kind: 'other', type: 'item' }];
    const id = str(item.id) ?? '';
    const type = str(item.type) ?? 'item';
    const use = (name: string, input: unknown): AgentEvent[] => {
      if (this.started.has(id)) return [];
      this.started.add(id);
      return [id ? { kind: 'tool_use', id, name, input } : { kind: 'tool_use', name, input }];
    };
    const result = (isError: boolean, content: string): AgentEvent => (id ? { kind: 'tool_result', toolUseId: id, isError, content } : { kind: 'tool_result', isError, content });
    switch (type) {
      case 'agent_message': {
        if (!done) return [];
        const text = str(item.text) ?? '';
        this.lastText = text;
        return [{ kind: 'text', text }];
      }
      case 'command_execution': {
        const out = use('shell', { command: str(item.command) ?? '' });
        if (!done) return out;
        const code = num(item.exit_code);
        return [...out, result(code !== 0 || item.status === 'failed', str(item.aggregated_output) ?? '')];
      }
      case 'file_change': {
        if (!done) return [];
        return [...use('edit', { changes: item.changes }), result(item.status === 'failed', str(item.status) ?? '')];
      }
      case 'mcp_tool_call': {
        const out = use(`${str(item.server) ?? 'mcp'}.${str(item.tool) ?? 'tool'}`, item.arguments ?? {});
        if (!done) return out;
        return [...out, result(item.status === 'failed', JSON.stringify(item.result ?? item.error ?? null))];
      }
      case 'web_search':
        return done ? use('web_search', { query: str(item.query) ?? '' }) : [];
      case 'error':
        // Warnings the CLI records as items (e.g. unknown model metadata); the run goes on.
        return done ? [{ kind: 'stderr', text: `codex: ${str(item.message) ?? 'error'}` }] : [];
      default:
        return [{ kind: 'other', type: `item/${type}` }];
    }
  }
}

/** The last `codex_error_info` a rollout file (codex's own session record) holds. */
export function codexErrorInfoFromRollout(text: string): CodexErrorInfo | undefined {
  let found: CodexErrorInfo | undefined;
  for (const line of text.split('\n')) {
    if (!line.includes('codex_error_info')) continue;
    const rec = parseJsonObject(line);
    const info = obj(obj(obj(rec?.payload)?.error))?.codex_error_info ?? obj(rec?.payload)?.codex_error_info;
    if (typeof info === 'string' || obj(info)) found = info as CodexErrorInfo;
  }
  return found;
}

/** What an error kind means for us: an HTTP status if codex kept one, else the kind's name. */
export function describeErrorInfo(info: CodexErrorInfo | undefined): { kind?: string; status?: number } {
  if (info === undefined) return {};
  if (typeof info === 'string') return { kind: info };
  const [kind, detail] = Object.entries(info)[0] ?? [];
  const status = num(detail?.http_status_code);
  return { ...(kind !== undefined ? { kind } : {}), ...(status !== undefined ? { status } : {}) };
}

const RETRYABLE_KINDS = new Set(['internal_server_error', 'server_overloaded', 'response_stream_disconnected', 'response_stream_connection_failed', 'http_connection_failed', 'response_too_many_failed_attempts']);
const AUTH_KINDS = new Set(['unauthorized']);

export function classifyCodex(p: CodexEventParser, exit: ExitFacts, bin: string, errorInfo?: CodexErrorInfo): AgentOutcome {
  const common = {
    ...(p.sessionId !== undefined ? { sessionId: p.sessionId } : {}),
    ...(p.turns > 0 ? { numTurns: p.turns } : {}),
    ...(p.lastText !== undefined ? { result: p.lastText } : {}),
    ...(p.tokens !== undefined ? { tokens: p.tokens } : {}),
    permissionDenials: [] as string[],
  };
  // Cleanly finished, even if we had to end a process that lingered after turn.completed.
  if (p.completed && p.failed === undefined && (exit.exitCode === 0 || exit.endedByUs)) return { ok: true, ...common, exitCode: exit.exitCode ?? 0 };
  const fail = (error: AgentError): AgentOutcome => ({ ok: false, error, ...common, exitCode: exit.exitCode, ...(exit.signal !== undefined ? { signal: exit.signal } : {}) });
  const early = commonFailure('codex', bin, '@openai/codex', exit);
  if (early) return fail(early);
  const one = (s: string) => shortMessage(s, 240);
  if (p.failed !== undefined) {
    const { kind, status } = describeErrorInfo(errorInfo);
    if (status === 401 || status === 403 || (kind !== undefined && AUTH_KINDS.has(kind))) {
      return fail(new AgentError('AGENT_AUTH', one(`codex API rejected the credentials${status ? ` (${status})` : ''}; ${CODEX_AUTH_FIX}`)));
    }
    const what = status !== undefined ? `API error ${status}` : kind !== undefined ? `API error (${kind})` : 'failed';
    // No structured kind at all (no rollout): unknown, so worth one more try.
    const retryable = status !== undefined ? isRetryableStatus(status) : kind === undefined || RETRYABLE_KINDS.has(kind);
    return fail(new AgentError('AGENT_FAILED', one(`codex ${what}: ${p.failed}`), { retryable }));
  }
  const stderrLine = lastLine(exit.stderrTail);
  const how = exit.signal !== undefined ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode ?? '?'}`;
  return fail(new AgentError('AGENT_PROTOCOL', one(`codex ${how} without turn.completed${stderrLine ? `: ${stderrLine}` : ''}`), { retryable: true }));
}
