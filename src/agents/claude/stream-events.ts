// Schemas for the lines Claude Code prints with `-p --output-format stream-json --verbose`.
// Loose on purpose: the CLI adds fields and event types between releases; unknown ones are kept
// and reported as 'unknown', never fatal. Shapes observed on @anthropic-ai/claude-code 2.1.197.
import { z } from 'zod';
import type { AgentEvent } from '../agent.js';
import { jsonObjectsInLine } from '../json-lines.js';

// ---- content blocks -------------------------------------------------------------------------

export const TextBlockSchema = z.looseObject({ type: z.literal('text'), text: z.string() });
export const ToolUseBlockSchema = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().optional(),
  name: z.string(),
  input: z.unknown(),
});
export const ThinkingBlockSchema = z.looseObject({ type: z.literal('thinking'), thinking: z.string().optional() });
export const ToolResultBlockSchema = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().optional(),
  is_error: z.boolean().nullish(),
  // A string, or an array of blocks ({type:'text',text} / {type:'image',…}).
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).nullish(),
});
/** Any block: validated per kind in toAgentEvents so one odd block never hides the others. */
export const AnyBlockSchema = z.looseObject({ type: z.string() });

// ---- events ---------------------------------------------------------------------------------

export const SystemInitSchema = z.looseObject({
  type: z.literal('system'),
  subtype: z.literal('init'),
  session_id: z.string(),
  model: z.string().optional(),
  cwd: z.string().optional(),
  permissionMode: z.string().optional(),
  tools: z.array(z.string()).optional(),
  apiKeySource: z.string().optional(),
  claude_code_version: z.string().optional(),
});

/** The CLI retries API errors itself (10 times by default) and says so with this event. */
export const ApiRetrySchema = z.looseObject({
  type: z.literal('system'),
  subtype: z.literal('api_retry'),
  attempt: z.number().optional(),
  max_retries: z.number().optional(),
  retry_delay_ms: z.number().optional(),
  error_status: z.number().nullish(),
  error: z.string().optional(),
  session_id: z.string().optional(),
});

export const AssistantSchema = z.looseObject({
  type: z.literal('assistant'),
  message: z.looseObject({ content: z.array(AnyBlockSchema), model: z.string().optional() }),
  session_id: z.string().optional(),
  parent_tool_use_id: z.string().nullish(),
  // Set on synthetic messages, e.g. "authentication_failed" for "Not logged in".
  error: z.string().optional(),
});

export const UserSchema = z.looseObject({
  type: z.literal('user'),
  message: z.looseObject({ content: z.union([z.string(), z.array(AnyBlockSchema)]) }),
  session_id: z.string().optional(),
  parent_tool_use_id: z.string().nullish(),
});

export const PermissionDenialSchema = z.looseObject({
  tool_name: z.string(),
  tool_use_id: z.string().optional(),
  tool_input: z.unknown().optional(),
});

export const ResultSchema = z.looseObject({
  type: z.literal('result'),
  subtype: z.string(), // success | error_max_turns | error_during_execution | …
  is_error: z.boolean(),
  result: z.string().optional(),
  num_turns: z.number().optional(),
  total_cost_usd: z.number().optional(),
  session_id: z.string().optional(),
  permission_denials: z.array(z.unknown()).optional(),
  api_error_status: z.number().nullish(),
  errors: z.array(z.unknown()).optional(),
  stop_reason: z.string().nullish(),
});

export type SystemInit = z.infer<typeof SystemInitSchema>;
export type ApiRetry = z.infer<typeof ApiRetrySchema>;
export type AssistantMessage = z.infer<typeof AssistantSchema>;
export type UserMessage = z.infer<typeof UserSchema>;
export type ResultMessage = z.infer<typeof ResultSchema>;

export type ClaudeStreamEvent =
  | { kind: 'system_init'; data: SystemInit }
  | { kind: 'api_retry'; data: ApiRetry }
  | { kind: 'assistant'; data: AssistantMessage }
  | { kind: 'user'; data: UserMessage }
  | { kind: 'result'; data: ResultMessage }
  /** Valid JSON object of an unknown type, or of a known type whose shape did not match (`issue`). */
  | { kind: 'unknown'; type: string; data: Record<string, unknown>; issue?: string }
  | { kind: 'non_json'; line: string; reason: string };

function typed<K extends ClaudeStreamEvent['kind'], S extends z.ZodType>(
  kind: K,
  schema: S,
  obj: Record<string, unknown>,
  type: string,
): ClaudeStreamEvent {
  const r = schema.safeParse(obj);
  if (r.success) return { kind, data: r.data } as ClaudeStreamEvent;
  const first = r.error.issues[0];
  const issue = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid';
  return { kind: 'unknown', type, data: obj, issue };
}

/** Parse one stdout line. Never throws. */
export function parseClaudeLine(line: string): ClaudeStreamEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { kind: 'non_json', line, reason: err instanceof Error ? err.message : String(err) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'non_json', line, reason: 'not a JSON object' };
  }
  return parseClaudeObject(value as Record<string, unknown>);
}

/**
 * Parse one stdout line that may hold several events spliced together (two writers, a lost
 * newline) or garbage around them: every whole event is returned, in order, and anything else
 * becomes one `non_json` entry to log and skip. Never throws, never ends the parse.
 */
export function parseClaudeLines(line: string): ClaudeStreamEvent[] {
  const { objects, skipped } = jsonObjectsInLine(line);
  const out = objects.map(parseClaudeObject);
  if (skipped) out.push({ kind: 'non_json', line: line.length > 500 ? `${line.slice(0, 500)}…` : line, reason: objects.length > 0 ? 'spliced line: part was not JSON' : 'not a JSON object' });
  return out;
}

function parseClaudeObject(obj: Record<string, unknown>): ClaudeStreamEvent {
  const type = typeof obj.type === 'string' ? obj.type : '';
  switch (type) {
    case 'system':
      if (obj.subtype === 'init') return typed('system_init', SystemInitSchema, obj, 'system/init');
      if (obj.subtype === 'api_retry') return typed('api_retry', ApiRetrySchema, obj, 'system/api_retry');
      return { kind: 'unknown', type: `system/${String(obj.subtype ?? '')}`, data: obj };
    case 'assistant':
      return typed('assistant', AssistantSchema, obj, type);
    case 'user':
      return typed('user', UserSchema, obj, type);
    case 'result':
      return typed('result', ResultSchema, obj, type);
    default:
      return { kind: 'unknown', type: type || '(no type)', data: obj };
  }
}

/** The session id an event carries, if any. */
export function eventSessionId(ev: ClaudeStreamEvent): string | undefined {
  if (ev.kind === 'non_json') return undefined;
  const id = (ev.data as { session_id?: unknown }).session_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Flatten tool_result content (string or blocks) to text for a transcript. */
export function toolResultText(content: unknown): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return JSON.stringify(content);
  return content
    .map((b) => {
      const t = TextBlockSchema.safeParse(b);
      if (t.success) return t.data.text;
      const type = (b as { type?: unknown })?.type;
      return `[${typeof type === 'string' ? type : 'block'}]`;
    })
    .join('\n');
}

function assistantEvents(ev: AssistantMessage): AgentEvent[] {
  const out: AgentEvent[] = [];
  for (const block of ev.message.content) {
    const text = TextBlockSchema.safeParse(block);
    if (text.success) {
      out.push({ kind: 'text', text: text.data.text });
      continue;
    }
    const tool = ToolUseBlockSchema.safeParse(block);
    if (tool.success) {
      const { id, name, input } = tool.data;
      out.push(id === undefined ? { kind: 'tool_use', name, input } : { kind: 'tool_use', id, name, input });
      continue;
    }
    out.push({ kind: 'other', type: `assistant/${block.type}` });
  }
  return out;
}

function userEvents(ev: UserMessage): AgentEvent[] {
  const content = ev.message.content;
  // A plain string is the CLI echoing a user prompt, not a tool result.
  if (typeof content === 'string') return [{ kind: 'other', type: 'user/text' }];
  const out: AgentEvent[] = [];
  for (const block of content) {
    const tr = ToolResultBlockSchema.safeParse(block);
    if (tr.success) {
      const base = { kind: 'tool_result' as const, isError: tr.data.is_error === true, content: toolResultText(tr.data.content) };
      out.push(tr.data.tool_use_id === undefined ? base : { ...base, toolUseId: tr.data.tool_use_id });
      continue;
    }
    out.push({ kind: 'other', type: `user/${block.type}` });
  }
  return out;
}

/** Normalise one CLI event to the agent-neutral transcript events. */
export function toAgentEvents(ev: ClaudeStreamEvent): AgentEvent[] {
  switch (ev.kind) {
    case 'system_init': {
      const { session_id, model, cwd } = ev.data;
      const init: AgentEvent = { kind: 'init', sessionId: session_id };
      if (model !== undefined) init.model = model;
      if (cwd !== undefined) init.cwd = cwd;
      return [init];
    }
    case 'assistant':
      return assistantEvents(ev.data);
    case 'user':
      return userEvents(ev.data);
    case 'api_retry':
      return [{ kind: 'other', type: 'system/api_retry' }];
    case 'result':
      return [{ kind: 'other', type: 'result' }];
    case 'unknown':
      return [{ kind: 'other', type: ev.type }];
    case 'non_json':
      return [{ kind: 'other', type: 'non_json' }];
  }
}

/**
 * A `result` line longer than the stdout line cap arrives cut: its `permission_denials` carry the
 * whole input of every refused write, so a model that kept trying to write a large file makes it
 * megabytes long. Its verdict is read from the fields at its start (the CLI writes them first);
 * its denials count as one, named so, so a success still goes to a person instead of counting as
 * clean. Undefined when the start does not hold the verdict.
 */
export function salvageCutResult(prefix: string): ResultMessage | undefined {
  if (!prefix.startsWith('{"type":"result"')) return undefined;
  const raw = (key: string, value: string) => new RegExp(`"${key}":(${value})`).exec(prefix)?.[1];
  const str = (key: string) => {
    const v = raw(key, '"(?:[^"\\\\]|\\\\.)*"');
    try {
      return v === undefined ? undefined : (JSON.parse(v) as string);
    } catch {
      return undefined;
    }
  };
  const num = (key: string) => {
    const v = raw(key, '-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?');
    return v === undefined ? undefined : Number(v);
  };
  const subtype = str('subtype');
  const isError = raw('is_error', 'true|false');
  if (subtype === undefined || isError === undefined) return undefined;
  const opt = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    type: 'result',
    subtype,
    is_error: isError === 'true',
    ...opt('result', str('result')),
    ...opt('num_turns', num('num_turns')),
    ...opt('total_cost_usd', num('total_cost_usd')),
    ...opt('session_id', str('session_id')),
    ...opt('api_error_status', num('api_error_status')),
    permission_denials: [{ tool_name: 'tool uses (the result line was too long and cut: see the run log)' }],
  } as ResultMessage;
}

// ---- judging a result -----------------------------------------------------------------------

/** What a `result` event means for the run, decided by `is_error` and structured fields only. */
export type ResultVerdict =
  | { ok: true }
  | { ok: false; reason: 'api_error'; status: number; retryable: boolean }
  | { ok: false; reason: 'max_budget'; retryable: false; costUsd?: number }
  | { ok: false; reason: 'max_turns'; retryable: false }
  | { ok: false; reason: 'error'; subtype: string; retryable: true };

/**
 * Success is `is_error: false`, whatever the subtype (an API 500 arrives as `subtype: "success"`
 * with `is_error: true`). A failure is classified by `api_error_status`, then by subtype; never
 * by the message text.
 */
export function judgeClaudeResult(r: ResultMessage): ResultVerdict {
  if (!r.is_error) return { ok: true };
  const status = r.api_error_status ?? undefined;
  if (status !== undefined) return { ok: false, reason: 'api_error', status, retryable: status === 408 || status === 409 || status === 429 || status >= 500 };
  // The spend cap was reached: another attempt would spend it again.
  if (r.subtype === 'error_max_budget_usd') return r.total_cost_usd !== undefined ? { ok: false, reason: 'max_budget', retryable: false, costUsd: r.total_cost_usd } : { ok: false, reason: 'max_budget', retryable: false };
  if (r.subtype === 'error_max_turns') return { ok: false, reason: 'max_turns', retryable: false };
  return { ok: false, reason: 'error', subtype: r.subtype, retryable: true };
}
