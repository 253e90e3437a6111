// Configuration from .env plus CLI flags, validated once into a frozen object. Only the operator
// sets these; nothing in the vault can widen them.
import { existsSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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

// Each field reads its .env text or throws a one-line ConfigError naming the key, the value and what
// is allowed. Hand-written rather than zod: every CLI call loads the config, and zod's module
// start-up alone was ~100 ms of a 400 ms `vaultrunner list`.
type Field<T> = (key: string, v: string) => T;
const refuse = (key: string, v: string, allowed: string): never => {
  throw new ConfigError(`${key}=${JSON.stringify(v)} is not allowed; ${allowed}`);
};

const bool: Field<boolean> = (key, v) => {
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  return refuse(key, v, 'use true or false');
};

/** Every duration ends up in a timer, and Node fires a longer delay than this at once (after 1 ms):
 *  TASK_TIMEOUT=600h meant "no limit" and stopped every run as it started. */
const MAX_TIMER_MS = 2_147_483_647;

const duration =
  (min = 0): Field<number> =>
  (key, v) => {
    const ms = parseDuration(v);
    return ms === undefined || ms < min || ms > MAX_TIMER_MS ? refuse(key, v, `use a duration like 500ms, 30s, 10m or 1h${min ? ` (at least ${min}ms` : ' ('}${min ? ', ' : ''}at most 596h, about 24 days)`) : ms;
  };

const int =
  (min: number, max: number): Field<number> =>
  (key, v) => {
    const n = Number(v.trim());
    return !Number.isInteger(n) || n < min || n > max ? refuse(key, v, `use a whole number from ${min} to ${max}`) : n;
  };

const oneOf =
  <T extends string>(values: readonly T[]): Field<T> =>
  (key, v) =>
    (values as readonly string[]).includes(v.trim()) ? (v.trim() as T) : refuse(key, v, `use one of ${values.join(', ')}`);

const nonEmpty =
  (what: string): Field<string> =>
  (key, v) =>
    v.length > 0 ? v : refuse(key, v, `use ${what}`);

const anyText: Field<string> = (_key, v) => v;

const list = (v: string, sep: string | RegExp) =>
  v
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);

const AGENT_NAME = /^[a-z][a-z0-9_-]*$/;
const agentsJson: Field<Record<string, string[]>> = (key, v) => {
  if (v.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    return refuse(key, v, 'use JSON like {"demo":["node","scripts/demo-agent.mjs"]}');
  }
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.entries(parsed).every(([name, argv]) => AGENT_NAME.test(name) && Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string' && a.length > 0));
  return ok ? { ...(parsed as Record<string, string[]>) } : refuse(key, v, 'each agent name (lowercase) maps to a non-empty argv array of strings');
};

const usd: Field<number | undefined> = (key, v) => {
  if (v.trim() === '') return undefined;
  const n = Number(v.trim());
  return !Number.isFinite(n) || n <= 0 ? refuse(key, v, 'use a positive number of US dollars like 2.50, or leave it empty for no cap') : n;
};

const model: Field<string | undefined> = (key, v) => {
  const s = v.trim();
  // A value that looks like a flag or spans lines would be passed to a CLI as an option.
  if (s.startsWith('-') || /[\s\0]/.test(s)) return refuse(key, v, 'use a model name like gpt-5.1 (no spaces, not starting with -)');
  return s === '' ? undefined : s;
};

const queueUrl: Field<string | undefined> = (_key, v) => {
  const s = v.trim();
  if (s === '') return undefined;
  let u: URL | undefined;
  try {
    u = new URL(s);
  } catch {
    u = undefined;
  }
  // The value may hold a password: never echoed.
  if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:')) throw new ConfigError('QUEUE_URL is not allowed; use redis://[:password@]host:port[/db], or rediss://… for TLS, or leave it empty for no remote workers');
  return s;
};

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

// Read in this order; the first bad value is the one reported.
const FIELDS = {
  VAULT_DIR: nonEmpty('a directory path'),
  EXECUTOR_TYPES: (_key: string, v: string) => list(v, ','),
  MAX_CONCURRENT: int(1, 256),
  TASK_TIMEOUT: duration(100),
  ORCHESTRATOR_INTERVAL: duration(50),
  EXECUTOR_INTERVAL: duration(50),
  WATCHDOG_INTERVAL: duration(50),
  ORCHESTRATOR_AUTORUN: bool,
  EXECUTOR_AUTORUN: bool,
  WATCHDOG_AUTORUN: bool,
  PLANNER: oneOf(['agent', 'template'] as const),
  AGENT: nonEmpty('an agent name'),
  CLAUDE_BIN: anyText,
  CODEX_BIN: anyText,
  GEMINI_BIN: anyText,
  OPENCODE_BIN: anyText,
  MODEL_CLAUDE: model,
  MODEL_CODEX: model,
  MODEL_GEMINI: model,
  MODEL_OPENCODE: model,
  MAX_BUDGET_USD: usd,
  AGENT_IDLE_TIMEOUT: duration(100),
  PERMISSION_MODE: oneOf(PERMISSION_MODES),
  WORKSPACE_ROOTS: anyText,
  RETRY_BACKOFF: duration(),
  MAX_ATTEMPTS: int(1, 100),
  LOG_LEVEL: oneOf(LEVELS),
  COMMAND_AGENTS: agentsJson,
  KILL_GRACE: duration(),
  LEASE_TTL: duration(1000),
  WATCH_MODE: oneOf(['events', 'poll'] as const),
  QUEUE_URL: queueUrl,
  QUEUE_PREFIX: (key: string, v: string) => (/^[A-Za-z0-9_-]{1,64}$/.test(v) ? v : refuse(key, v, "use letters, digits, _ or - (it must match the workers' QUEUE_PREFIX)")),
} satisfies Record<ConfigKey, Field<unknown>>;
type Parsed = { [K in ConfigKey]: ReturnType<(typeof FIELDS)[K]> };

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
  const c = {} as Record<string, unknown>;
  for (const [key, field] of Object.entries(FIELDS) as [ConfigKey, Field<unknown>][]) c[key] = field(key, raw[key]!);
  return build(c as Parsed, env, overrides, cwd);
}

function build(c: Parsed, env: NodeJS.ProcessEnv, overrides: Partial<Record<ConfigKey | WorkspaceConfigKey, string>>, cwd: string): Config {
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
