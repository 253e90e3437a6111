// Configuration from .env plus CLI flags, validated once into a frozen object. Only the operator
// sets these; nothing in the vault can widen them.
import { existsSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PERMISSION_MODES, type PermissionMode } from './permission-modes.js';
import { ConfigError } from '../errors.js';
import { parseDuration } from './duration.js';
import { loadWorkspaceConfig, type WorkspaceConfig, type WorkspaceConfigKey } from './workspace-config.js';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Config {
  vaultDir: string;
  executorTypes: readonly string[];
  maxConcurrent: number;
  taskTimeoutMs: number;
  orchestratorIntervalMs: number;
  executorIntervalMs: number;
  watchdogIntervalMs: number;
  orchestratorAutorun: boolean;
  executorAutorun: boolean;
  watchdogAutorun: boolean;
  planner: 'agent' | 'template';
  agent: string;
  claudeBin: string;
  codexBin: string;
  geminiBin: string;
  opencodeBin: string;
  /** Default model per built-in agent (MODEL_<AGENT>); undefined: the CLI's own default. */
  models: Readonly<Partial<Record<BuiltinAgent, string>>>;
  /** Operator's spend cap per run in USD (MAX_BUDGET_USD); a note's budget_usd may only ask for less. */
  maxBudgetUsd?: number;
  /** An agent printing nothing on stdout/stderr this long is stopped (retryable AGENT_TIMEOUT). */
  agentIdleTimeoutMs: number;
  permissionMode: PermissionMode;
  workspaceRoots: readonly string[];
  retryBackoffMs: number;
  maxAttempts: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Operator-defined command agents: name -> argv. */
  commandAgents: Readonly<Record<string, readonly string[]>>;
  /** Grace period between SIGTERM and SIGKILL when stopping an agent. */
  killGraceMs: number;
  /** How long a lease lives without renewal. */
  leaseTtlMs: number;
  /** `events` (fs.watch) or `poll` (stat every second, for filesystems without change events). */
  watchMode: 'events' | 'poll';
  /** Git workspaces, setup, gates, review and merge (config/workspace-config.ts). */
  workspace: WorkspaceConfig;
  /** QUEUE_URL set: claimed runs go to remote workers through BullMQ on this Redis (docs/scaling.md). */
  queue?: { url: string; prefix: string };
}

/** Keys as they appear in .env, with their defaults (documented in .env.example). */
export const DEFAULTS = {
  VAULT_DIR: './vault',
  EXECUTOR_TYPES: 'claude_code,claude_task,claude_app',
  MAX_CONCURRENT: '3',
  TASK_TIMEOUT: '10m',
  ORCHESTRATOR_INTERVAL: '60s',
  EXECUTOR_INTERVAL: '30s',
  WATCHDOG_INTERVAL: '15s',
  ORCHESTRATOR_AUTORUN: 'true',
  EXECUTOR_AUTORUN: 'true',
  WATCHDOG_AUTORUN: 'true',
  PLANNER: 'template',
  AGENT: 'claude',
  CLAUDE_BIN: '',
  CODEX_BIN: '',
  GEMINI_BIN: '',
  OPENCODE_BIN: '',
  MODEL_CLAUDE: '',
  MODEL_CODEX: '',
  MODEL_GEMINI: '',
  MODEL_OPENCODE: '',
  MAX_BUDGET_USD: '',
  AGENT_IDLE_TIMEOUT: '5m',
  PERMISSION_MODE: 'acceptEdits',
  WORKSPACE_ROOTS: '',
  RETRY_BACKOFF: '30s',
  MAX_ATTEMPTS: '3',
  LOG_LEVEL: 'info',
  COMMAND_AGENTS: '',
  KILL_GRACE: '5s',
  LEASE_TTL: '60s',
  WATCH_MODE: 'events',
  QUEUE_URL: '',
  QUEUE_PREFIX: 'vaultrunner',
} as const;
export type ConfigKey = keyof typeof DEFAULTS;

/** The agent CLIs vaultrunner drives natively; their names are the public contract (`AGENT=…`, a note's `agent:`). */
export const BUILTIN_AGENTS = ['claude', 'codex', 'gemini', 'opencode'] as const;
export type BuiltinAgent = (typeof BUILTIN_AGENTS)[number];

const bool = (key: string) =>
  z.string().transform((v, ctx) => {
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off'].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: `${key}=${JSON.stringify(v)} is not allowed; use true or false` });
    return z.NEVER;
  });

const duration = (key: string, min = 0) =>
  z.string().transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || ms < min) {
      ctx.addIssue({ code: 'custom', message: `${key}=${JSON.stringify(v)} is not allowed; use a duration like 500ms, 30s, 10m or 1h${min ? ` (at least ${min}ms)` : ''}` });
      return z.NEVER;
    }
    return ms;
  });

const int = (key: string, min: number, max: number) =>
  z.string().transform((v, ctx) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${key}=${JSON.stringify(v)} is not allowed; use a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const oneOf = <T extends string>(key: string, values: readonly T[]) =>
  z.string().transform((v, ctx) => {
    if ((values as readonly string[]).includes(v.trim())) return v.trim() as T;
    ctx.addIssue({ code: 'custom', message: `${key}=${JSON.stringify(v)} is not allowed; use one of ${values.join(', ')}` });
    return z.NEVER;
  });

const list = (v: string, sep: string | RegExp) =>
  v
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);

const agentsJson = z.string().transform((v, ctx) => {
  if (v.trim() === '') return {} as Record<string, string[]>;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `COMMAND_AGENTS=${JSON.stringify(v)} is not allowed; use JSON like {"demo":["node","scripts/demo-agent.mjs"]}` });
    return z.NEVER;
  }
  const shape = z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), z.array(z.string().min(1)).min(1));
  const r = shape.safeParse(parsed);
  if (!r.success) {
    ctx.addIssue({ code: 'custom', message: `COMMAND_AGENTS=${JSON.stringify(v)} is not allowed; each agent name (lowercase) maps to a non-empty argv array of strings` });
    return z.NEVER;
  }
  return r.data;
});

const usd = (key: string) =>
  z.string().transform((v, ctx) => {
    if (v.trim() === '') return undefined;
    const n = Number(v.trim());
    if (!Number.isFinite(n) || n <= 0) {
      ctx.addIssue({ code: 'custom', message: `${key}=${JSON.stringify(v)} is not allowed; use a positive number of US dollars like 2.50, or leave it empty for no cap` });
      return z.NEVER;
    }
    return n;
  });

const model = (key: string) =>
  z.string().transform((v, ctx) => {
    const s = v.trim();
    // A value that looks like a flag or spans lines would be passed to a CLI as an option.
    if (s.startsWith('-') || /[\s\0]/.test(s)) {
      ctx.addIssue({ code: 'custom', message: `${key}=${JSON.stringify(v)} is not allowed; use a model name like gpt-5.1 (no spaces, not starting with -)` });
      return z.NEVER;
    }
    return s === '' ? undefined : s;
  });

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const schema = z.object({
  VAULT_DIR: z.string().min(1),
  EXECUTOR_TYPES: z.string().transform((v) => list(v, ',')),
  MAX_CONCURRENT: int('MAX_CONCURRENT', 1, 256),
  TASK_TIMEOUT: duration('TASK_TIMEOUT', 100),
  ORCHESTRATOR_INTERVAL: duration('ORCHESTRATOR_INTERVAL', 50),
  EXECUTOR_INTERVAL: duration('EXECUTOR_INTERVAL', 50),
  WATCHDOG_INTERVAL: duration('WATCHDOG_INTERVAL', 50),
  ORCHESTRATOR_AUTORUN: bool('ORCHESTRATOR_AUTORUN'),
  EXECUTOR_AUTORUN: bool('EXECUTOR_AUTORUN'),
  WATCHDOG_AUTORUN: bool('WATCHDOG_AUTORUN'),
  PLANNER: oneOf('PLANNER', ['agent', 'template'] as const),
  AGENT: z.string().min(1),
  CLAUDE_BIN: z.string(),
  CODEX_BIN: z.string(),
  GEMINI_BIN: z.string(),
  OPENCODE_BIN: z.string(),
  MODEL_CLAUDE: model('MODEL_CLAUDE'),
  MODEL_CODEX: model('MODEL_CODEX'),
  MODEL_GEMINI: model('MODEL_GEMINI'),
  MODEL_OPENCODE: model('MODEL_OPENCODE'),
  MAX_BUDGET_USD: usd('MAX_BUDGET_USD'),
  AGENT_IDLE_TIMEOUT: duration('AGENT_IDLE_TIMEOUT', 100),
  PERMISSION_MODE: oneOf('PERMISSION_MODE', PERMISSION_MODES),
  WORKSPACE_ROOTS: z.string(),
  RETRY_BACKOFF: duration('RETRY_BACKOFF'),
  MAX_ATTEMPTS: int('MAX_ATTEMPTS', 1, 100),
  LOG_LEVEL: oneOf('LOG_LEVEL', LEVELS),
  COMMAND_AGENTS: agentsJson,
  KILL_GRACE: duration('KILL_GRACE'),
  LEASE_TTL: duration('LEASE_TTL', 1000),
  WATCH_MODE: oneOf('WATCH_MODE', ['events', 'poll'] as const),
  QUEUE_URL: z.string().transform((v, ctx) => {
    const s = v.trim();
    if (s === '') return undefined;
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:')) {
      // The value may hold a password: never echoed.
      ctx.addIssue({ code: 'custom', message: 'QUEUE_URL is not allowed; use redis://[:password@]host:port[/db], or rediss://… for TLS, or leave it empty for no remote workers' });
      return z.NEVER;
    }
    return s;
  }),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use letters, digits, _ or - (it must match the workers\' QUEUE_PREFIX)'),
});

/** Find an agent CLI `name`: its <NAME>_BIN, else on PATH, else the one in our node_modules. */
export function resolveAgentBin(name: string, configured: string, env: NodeJS.ProcessEnv): string {
  if (configured.trim()) return configured.trim();
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return join(PACKAGE_ROOT, 'node_modules', '.bin', name);
}

/** Find `claude`: CLAUDE_BIN, else on PATH, else the one in our node_modules. */
export function resolveClaudeBin(configured: string, env: NodeJS.ProcessEnv): string {
  return resolveAgentBin('claude', configured, env);
}

/**
 * Build the config from environment-style values (process.env after dotenv) and flag overrides
 * (same keys). Throws ConfigError whose message is one line naming the key, value and what is allowed.
 */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: Partial<Record<ConfigKey | WorkspaceConfigKey, string>> = {}, cwd = process.cwd()): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(DEFAULTS) as ConfigKey[]) {
    raw[key] = overrides[key] ?? env[key] ?? DEFAULTS[key];
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const msg = issue.code === 'custom' ? issue.message : `${key}=${JSON.stringify(raw[key])} is not allowed: ${issue.message}`;
    throw new ConfigError(msg);
  }
  const c = r.data;
  const roots = list(c.WORKSPACE_ROOTS, delimiter).map((p) => resolve(cwd, p));
  for (const root of roots) {
    if (!isAbsolute(root)) throw new ConfigError(`WORKSPACE_ROOTS entry ${JSON.stringify(root)} is not allowed; use absolute or relative directory paths`);
  }
  // Unset means the bundled no-credentials demo agent; COMMAND_AGENTS={} removes it.
  const commandAgents: Record<string, string[]> =
    (overrides.COMMAND_AGENTS ?? env.COMMAND_AGENTS) === undefined ? { demo: [process.execPath, join(PACKAGE_ROOT, 'scripts', 'demo-agent.mjs')] } : { ...c.COMMAND_AGENTS };
  for (const name of BUILTIN_AGENTS) {
    if (commandAgents[name]) throw new ConfigError(`COMMAND_AGENTS may not redefine "${name}"; use ${name.toUpperCase()}_BIN to point at another ${name} binary`);
  }
  const agentNames = [...BUILTIN_AGENTS, ...Object.keys(commandAgents)];
  if (!agentNames.includes(c.AGENT)) {
    throw new ConfigError(`AGENT=${JSON.stringify(c.AGENT)} is not allowed; use one of ${agentNames.join(', ')}`);
  }
  return Object.freeze({
    vaultDir: resolve(cwd, c.VAULT_DIR),
    executorTypes: Object.freeze(c.EXECUTOR_TYPES),
    maxConcurrent: c.MAX_CONCURRENT,
    taskTimeoutMs: c.TASK_TIMEOUT,
    orchestratorIntervalMs: c.ORCHESTRATOR_INTERVAL,
    executorIntervalMs: c.EXECUTOR_INTERVAL,
    watchdogIntervalMs: c.WATCHDOG_INTERVAL,
    orchestratorAutorun: c.ORCHESTRATOR_AUTORUN,
    executorAutorun: c.EXECUTOR_AUTORUN,
    watchdogAutorun: c.WATCHDOG_AUTORUN,
    planner: c.PLANNER,
    agent: c.AGENT,
    claudeBin: resolveAgentBin('claude', c.CLAUDE_BIN, env),
    codexBin: resolveAgentBin('codex', c.CODEX_BIN, env),
    geminiBin: resolveAgentBin('gemini', c.GEMINI_BIN, env),
    opencodeBin: resolveAgentBin('opencode', c.OPENCODE_BIN, env),
    models: Object.freeze({
      ...(c.MODEL_CLAUDE ? { claude: c.MODEL_CLAUDE } : {}),
      ...(c.MODEL_CODEX ? { codex: c.MODEL_CODEX } : {}),
      ...(c.MODEL_GEMINI ? { gemini: c.MODEL_GEMINI } : {}),
      ...(c.MODEL_OPENCODE ? { opencode: c.MODEL_OPENCODE } : {}),
    }),
    ...(c.MAX_BUDGET_USD !== undefined ? { maxBudgetUsd: c.MAX_BUDGET_USD } : {}),
    agentIdleTimeoutMs: c.AGENT_IDLE_TIMEOUT,
    permissionMode: c.PERMISSION_MODE,
    workspaceRoots: Object.freeze(roots),
    retryBackoffMs: c.RETRY_BACKOFF,
    maxAttempts: c.MAX_ATTEMPTS,
    logLevel: c.LOG_LEVEL,
    commandAgents: Object.freeze(
      Object.fromEntries(Object.entries(commandAgents).map(([k, v]) => [k, Object.freeze(v.map((a) => resolveArg(a, cwd)))])),
    ),
    killGraceMs: c.KILL_GRACE,
    leaseTtlMs: c.LEASE_TTL,
    watchMode: c.WATCH_MODE,
    workspace: loadWorkspaceConfig(env, overrides, cwd),
    ...(c.QUEUE_URL ? { queue: Object.freeze({ url: c.QUEUE_URL, prefix: c.QUEUE_PREFIX }) } : {}),
  });
}

// A relative script path in an agent's argv is taken relative to where the config was read.
function resolveArg(arg: string, cwd: string): string {
  return /^\.{1,2}\//.test(arg) ? resolve(cwd, arg) : arg;
}
