// A worker's own settings (its operator's, never the job's): queue URL, agents served, concurrency,
// work dir, gates and allowed remotes, from flags over environment over defaults.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseDuration } from '../config/duration.js';
import { checkQueueUrl } from './redis.js';

export interface WorkerSettings {
  queueUrl: string;
  concurrency: number;
  /** Agent names to serve; undefined: every configured agent. */
  agents?: string[];
  workdir: string;
  gates: Record<string, string[]>;
  gateTimeoutMs: number;
  allowedRemotes: string[];
  prefix: string;
  /** BullMQ lock TTL: a dead worker's run moves on after about this long. */
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export interface WorkerFlags {
  queue?: string;
  concurrency?: string;
  agents?: string;
  workdir?: string;
}

const gatesSchema = z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), z.array(z.string().min(1)).min(1));

export function workerSettings(flags: WorkerFlags, env: NodeJS.ProcessEnv, cwd: string): WorkerSettings {
  const queueUrl = flags.queue ?? env.QUEUE_URL ?? '';
  if (!queueUrl) throw new ConfigError('a worker needs the queue: --queue redis://host:6379 or QUEUE_URL');
  checkQueueUrl(queueUrl);
  const concRaw = flags.concurrency ?? env.WORKER_CONCURRENCY ?? '1';
  const concurrency = Number(concRaw);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new ConfigError(`--concurrency ${JSON.stringify(concRaw)} is not allowed; use a whole number from 1 to 64`);
  const agentsRaw = flags.agents ?? env.WORKER_AGENTS;
  const agents = agentsRaw ? agentsRaw.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  const workdir = resolve(cwd, flags.workdir ?? env.WORKER_DIR ?? join(dataHome, 'vaultrunner', 'worker'));
  let gates: Record<string, string[]> = {};
  if (env.GATES?.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.GATES);
    } catch {
      throw new ConfigError('GATES is not JSON; use an object of name -> argv, e.g. {"test":["npm","test"]}');
    }
    const r = gatesSchema.safeParse(parsed);
    if (!r.success) throw new ConfigError('GATES must map lowercase gate names to non-empty argv arrays of strings');
    gates = r.data;
  }
  const allowedRemotes = (env.WORKER_REMOTES ?? '').split(/\s+/).filter(Boolean);
  const dur = (key: string, def: number, min: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return def;
    const ms = parseDuration(raw);
    if (ms === undefined || ms < min) throw new ConfigError(`${key}=${JSON.stringify(raw)} is not allowed; use a duration like 30s (at least ${min}ms)`);
    return ms;
  };
  const gateTimeoutMs = dur('GATE_TIMEOUT', 600_000, 1000);
  const lockDurationMs = dur('WORKER_LOCK_TTL', 30_000, 1000);
  const stalledIntervalMs = dur('WORKER_STALL_CHECK', 30_000, 200);
  return { lockDurationMs, stalledIntervalMs, queueUrl, concurrency, agents, workdir, gates, gateTimeoutMs, allowedRemotes, prefix: env.QUEUE_PREFIX || 'vaultrunner' };
}
