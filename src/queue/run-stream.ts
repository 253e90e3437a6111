// The per-run Redis stream: what a worker writes (delivery start, transcript events, outcome) and
// how it is fenced. Every write checks, inside Redis, that the writer is the run's current delivery,
// so a worker that lost the job cannot add to the transcript or report an outcome.
import type { Redis } from 'ioredis';
import type { AgentEvent, AgentOutcome } from '../agents/agent.js';
import { AgentError, type ErrorCode } from '../errors.js';
import type { GateResult } from './ports.js';

export type EntryKind = 'start' | 'event' | 'raw' | 'note' | 'outcome';

export interface StreamEntry {
  id: string;
  kind: EntryKind;
  /** The delivery (BullMQ lock token) that wrote it. */
  delivery: string;
  data: unknown;
}

/** What the worker reports; `leaseToken` is the fencing token the coordinator checks. */
export interface WireOutcome {
  leaseToken: string;
  worker: string;
  ok: boolean;
  code?: string;
  message?: string;
  retryable?: boolean;
  sessionId?: string;
  costUsd?: number;
  numTurns?: number;
  result?: string;
  permissionDenials: string[];
  exitCode: number | null;
  signal?: string;
  branch?: string;
  headCommit?: string;
  pushed?: boolean;
  handBackError?: string;
  gates?: GateResult[];
}

export interface StartInfo {
  worker: string;
  attemptsStarted: number;
}

const START = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 'lost' end
if redis.call('HGET', KEYS[2], 'done') == '1' then return 'done' end
redis.call('HSET', KEYS[2], 'delivery', ARGV[1])
redis.call('XADD', KEYS[1], '*', 'k', 'start', 'd', ARGV[1], 'j', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 'ok'`;

const EMIT = `
if redis.call('HGET', KEYS[2], 'delivery') ~= ARGV[1] then return 0 end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'session', ARGV[4]) end
redis.call('XADD', KEYS[1], '*', 'k', ARGV[2], 'd', ARGV[1], 'j', ARGV[3])
return 1`;

const OUTCOME = `
if redis.call('HGET', KEYS[2], 'delivery') ~= ARGV[1] then return 'stale' end
if redis.call('HGET', KEYS[2], 'done') == '1' then return 'done' end
redis.call('HSET', KEYS[2], 'done', '1')
redis.call('XADD', KEYS[1], '*', 'k', 'outcome', 'd', ARGV[1], 'j', ARGV[2])
return 'ok'`;

type Scripted = Redis & {
  vrStart(stream: string, meta: string, lock: string, delivery: string, json: string, ttlSec: number): Promise<string>;
  vrEmit(stream: string, meta: string, delivery: string, kind: string, json: string, session: string): Promise<number>;
  vrOutcome(stream: string, meta: string, delivery: string, json: string): Promise<string>;
};

export function withRunScripts(redis: Redis): Scripted {
  const r = redis as Scripted;
  if (typeof r.vrStart !== 'function') {
    redis.defineCommand('vrStart', { numberOfKeys: 3, lua: START });
    redis.defineCommand('vrEmit', { numberOfKeys: 2, lua: EMIT });
    redis.defineCommand('vrOutcome', { numberOfKeys: 2, lua: OUTCOME });
  }
  return r;
}

/** XREAD/XRANGE reply entries → typed entries (malformed ones are skipped). */
export function parseEntries(raw: Array<[string, string[]]>): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [id, fields] of raw) {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    const kind = f.k as EntryKind | undefined;
    if (!kind || !['start', 'event', 'raw', 'note', 'outcome'].includes(kind)) continue;
    let data: unknown;
    try {
      data = f.j === undefined ? undefined : JSON.parse(f.j);
    } catch {
      continue;
    }
    out.push({ id, kind, delivery: f.d ?? '', data });
  }
  return out;
}

export function toWire(o: AgentOutcome, extra: Omit<WireOutcome, keyof AgentOutcome | 'code' | 'message' | 'retryable'>): WireOutcome {
  const base = {
    ...extra,
    ok: o.ok,
    sessionId: o.sessionId,
    costUsd: o.costUsd,
    numTurns: o.numTurns,
    result: o.result,
    permissionDenials: o.permissionDenials,
    exitCode: o.exitCode,
  };
  return o.ok ? base : { ...base, code: o.error.code, message: o.error.message, retryable: o.error.retryable, signal: o.signal };
}

const AGENT_CODES = new Set<string>(['AGENT_UNKNOWN', 'AGENT_NOT_FOUND', 'AGENT_AUTH', 'AGENT_FAILED', 'AGENT_TIMEOUT', 'AGENT_STOPPED', 'AGENT_PROTOCOL', 'WORKSPACE_DENIED', 'PERMISSION_DENIED']);

/** What the remote run adds to an agent outcome: where the work is. */
export interface RemoteFacts {
  worker: string;
  branch?: string;
  headCommit?: string;
  pushed?: boolean;
  handBackError?: string;
  gates?: GateResult[];
  /** Set when the coordinator refused the result (then the outcome is not the worker's). */
  refused?: 'stale-lease';
}

export type RemoteOutcome = AgentOutcome & { remote?: RemoteFacts };

export function fromWire(w: WireOutcome): RemoteOutcome {
  const remote: RemoteFacts = { worker: String(w.worker), branch: w.branch, headCommit: w.headCommit, pushed: w.pushed, handBackError: w.handBackError, gates: w.gates };
  const common = {
    sessionId: w.sessionId,
    costUsd: w.costUsd,
    numTurns: w.numTurns,
    result: w.result,
    permissionDenials: Array.isArray(w.permissionDenials) ? w.permissionDenials.map(String) : [],
    remote,
  };
  if (w.ok) return { ok: true, ...common, exitCode: typeof w.exitCode === 'number' ? w.exitCode : 0 };
  // A worker cannot invent codes the engine does not know: anything else is a plain agent failure.
  const code = (AGENT_CODES.has(String(w.code)) ? w.code : 'AGENT_FAILED') as ConstructorParameters<typeof AgentError>[0];
  const error = new AgentError(code, String(w.message ?? 'remote run failed').slice(0, 500), { retryable: w.retryable !== false });
  return { ok: false, error, ...common, exitCode: typeof w.exitCode === 'number' ? w.exitCode : null, ...(w.signal ? { signal: String(w.signal) } : {}) };
}

export function isAgentEvent(v: unknown): v is AgentEvent {
  return v !== null && typeof v === 'object' && typeof (v as { kind?: unknown }).kind === 'string';
}

export type { ErrorCode };
