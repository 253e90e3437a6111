// `vaultrunner doctor`: one ✓/✗ line per check of what the service needs, each ✗ with how to fix
// it. Exit 0 when everything passes, else 1. Read-only: it never writes to the vault.
import { constants, existsSync } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry } from '../../agents/registry.js';
import { loadConfig, type Config, type ConfigKey } from '../../config/config.js';
import { ConfigError, shortMessage } from '../../errors.js';
import { resolveWorkingDir } from '../../engine/working-dir.js';
import { TaskIndex } from '../../lifecycle/task-index.js';
import { silentLogger } from '../../log/logger.js';
import { classifyPath } from '../../vault/ignore-rules.js';
import { STATE_DIR, TASK_FOLDERS, VAULT_FOLDERS, vaultPaths, type VaultPaths } from '../../vault/layout.js';
import { NoteStore } from '../../vault/note-store.js';
import { inspectLock } from '../../vault/service-lock.js';
import { inotifyWatchesNeeded } from '../../vault/watcher.js';
import { isLoopbackHost, loadWebConfig } from '../../web/web-config.js';
import type { Command, CommandContext } from '../command.js';
import { configFor, describeEnvFile, envFileFor, readEnv, type EnvFile } from '../load-config.js';
import { checkOnline } from './doctor-online.js';
import { checkWorkspaces } from './doctor-workspaces.js';
import { probeQueue } from '../../queue/redis.js';

export interface CheckResult {
  ok: boolean;
  /** One line: what was checked and what was found (never a secret). */
  line: string;
  /** Extra lines under a ✗ (e.g. each offending task). */
  details?: string[];
}

/** Below this many inotify watches, doctor warns (a ✓ with a warning) even for a small vault. */
export const WATCHES_WARN_BELOW = 8192;
/** Test hook, read only by doctor: overrides the required number of inotify watches. */
export const MIN_WATCHES_ENV = 'VAULTRUNNER_DOCTOR_MIN_WATCHES';
const INOTIFY_FILE = '/proc/sys/fs/inotify/max_user_watches';

const pass = (line: string, details?: string[]): CheckResult => ({ ok: true, line, details });
const fail = (line: string, details?: string[]): CheckResult => ({ ok: false, line, details });

/** Which .env is read; a named file that is missing is a ✗, and the checks go on without it. */
function checkEnvFile(ctx: CommandContext): { result: CheckResult; file: EnvFile } {
  try {
    const file = envFileFor(ctx);
    const how = file.path ? `read ${describeEnvFile(file)}` : `none (no .env in ${ctx.io.cwd}; --env-file <file> or VAULTRUNNER_ENV names one)`;
    return { result: pass(`.env: ${how}`), file };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { result: fail(`.env: ${err.message}; checking without it`), file: { origin: 'none' } };
  }
}

/** The config, or (when it is invalid) the best config we can build from the keys that are valid. */
function checkConfig(ctx: CommandContext, file: EnvFile): { result: CheckResult; config?: Config } {
  const source = file.path ? `${file.path} + environment` : 'environment and defaults, no .env';
  try {
    return { result: pass(`config valid (${source})`), config: configFor(ctx, {}, file) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const env = readEnv(ctx, file);
    const overrides: Partial<Record<ConfigKey, string>> = typeof ctx.values.vault === 'string' ? { VAULT_DIR: ctx.values.vault } : {};
    const kept: NodeJS.ProcessEnv = {};
    let config: Config | undefined;
    // Add the keys the other checks need one by one, keeping each only if it is valid.
    for (const key of ['VAULT_DIR', 'CLAUDE_BIN', 'WORKSPACE_ROOTS', 'EXECUTOR_TYPES', 'COMMAND_AGENTS', 'AGENT'] as const) {
      if (env[key] === undefined) continue;
      try {
        config = loadConfig({ ...kept, [key]: env[key] }, overrides, ctx.io.cwd);
        kept[key] = env[key];
      } catch {
        /* leave this key out */
      }
    }
    try {
      config ??= loadConfig(kept, overrides, ctx.io.cwd);
    } catch {
      config = undefined;
    }
    return { result: fail(`config invalid: ${err.message}`, [`fix it in ${file.path ?? 'the environment or a .env file'}; see .env.example`]), config };
  }
}

async function checkLayout(paths: VaultPaths): Promise<CheckResult> {
  if (!existsSync(paths.root)) return fail(`vault: ${paths.root} does not exist; create it with 'vaultrunner init ${paths.root}' or pass --vault <dir>`);
  const missing: string[] = [];
  const readOnly: string[] = [];
  for (const f of VAULT_FOLDERS) {
    const dir = join(paths.root, f);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) missing.push(`${f}/`);
    else if (!(await writable(dir))) readOnly.push(`${f}/`);
  }
  if (!(await writable(paths.root))) readOnly.unshift('(the vault folder itself)');
  if (existsSync(paths.state) && !(await writable(paths.state))) readOnly.push(`${STATE_DIR}/`);
  if (missing.length) return fail(`vault layout: missing ${missing.join(', ')} in ${paths.root}; 'vaultrunner init ${paths.root}' creates what is missing and overwrites nothing`);
  if (readOnly.length) return fail(`vault layout: not writable: ${readOnly.join(', ')} in ${paths.root}; the service must write notes there (check permissions and mounts)`);
  return pass(`vault layout present and writable (${paths.root})`);
}

async function writable(dir: string): Promise<boolean> {
  // access() also answers EROFS for a read-only mount, even for root.
  return access(dir, constants.W_OK).then(() => true, () => false);
}

/** What each non-Claude built-in agent needs from the environment (Claude has its own check below). */
const AGENT_KEYS: Record<string, { key: string; fix: string; also?: { key: string; why: string } }> = {
  codex: { key: 'OPENAI_API_KEY', fix: 'set OPENAI_API_KEY (and OPENAI_BASE_URL for a gateway) in .env' },
  gemini: { key: 'GEMINI_API_KEY', fix: 'set GEMINI_API_KEY (and GOOGLE_GEMINI_BASE_URL for a gateway) in .env' },
  opencode: { key: 'OPENAI_API_KEY', fix: 'set OPENAI_API_KEY and OPENAI_BASE_URL (an OpenAI-compatible endpoint) in .env' },
};

async function checkAgents(ctx: CommandContext, config: Config, env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const registry = AgentRegistry.fromConfig(config);
  const out: CheckResult[] = [];
  // All at once: one after the other, four CLIs' --version took many seconds.
  const probes = await Promise.all(registry.names().map(async (name) => [name, await registry.probe(name, Date.now(), 0)] as const));
  for (const [name, p] of probes) {
    const isDefault = name === config.agent;
    const def = isDefault ? ' (default)' : '';
    const needs = AGENT_KEYS[name];
    const binKey = `${name.toUpperCase()}_BIN`;
    if (!p?.ok) {
      // A built-in agent nobody asked for may simply not be installed: say so without failing.
      const optional = needs && !isDefault && !env[binKey]?.trim();
      out.push(optional ? pass(`agent ${name}: not available (optional; ${p?.detail ?? 'not found'})`) : fail(`agent ${name}${def}: ${p?.detail ?? 'not configured'}`));
      continue;
    }
    let creds = '';
    let credsOk = true;
    if (needs) {
      const where = ctx.io.env[needs.key]?.trim() ? 'environment' : '.env';
      if (env[needs.key]?.trim()) creds = `; ${needs.key} is set (${where}), not verified`;
      else {
        creds = `; no ${needs.key}: ${needs.fix}`;
        credsOk = !isDefault; // only the default agent must be usable for doctor to pass
      }
      if (name === 'opencode' && !config.models.opencode) creds += '; no MODEL_OPENCODE (notes must name a model)';
    }
    const line = `agent ${name}${def}: ${p.version ? `version ${p.version}` : 'found'} — ${shortMessage(p.detail, 160)}${creds}`;
    out.push(credsOk ? pass(line) : fail(line));
  }
  return out;
}

const NOT_VERIFIED = "present, not verified ('doctor --online' tries them)";

function credentialsFile(ctx: CommandContext): string {
  return join(ctx.io.env.CLAUDE_CONFIG_DIR || join(ctx.io.env.HOME || homedir(), '.claude'), '.credentials.json');
}

/** Whether credentials exist; only `--online` says whether they work. */
async function checkCredentials(ctx: CommandContext, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  for (const key of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN'] as const) {
    if (env[key]?.trim()) return pass(`Claude credentials: ${key} is set (${ctx.io.env[key]?.trim() ? 'environment' : '.env'}); ${NOT_VERIFIED}`);
  }
  const home = ctx.io.env.HOME || homedir();
  const configDir = ctx.io.env.CLAUDE_CONFIG_DIR || join(home, '.claude');
  const credentials = credentialsFile(ctx);
  const creds = await readJsonObject(credentials);
  if (creds && Object.keys(creds).length > 0) return pass(`Claude credentials: a login in ${credentials}; ${NOT_VERIFIED}`);
  for (const file of [join(ctx.io.env.CLAUDE_CONFIG_DIR || home, '.claude.json'), join(configDir, '.claude.json')]) {
    const j = await readJsonObject(file);
    if (j?.oauthAccount) return pass(`Claude credentials: a login (oauthAccount) in ${file}; ${NOT_VERIFIED}`);
  }
  const mac = process.platform === 'darwin' ? ' (on macOS a login may be in the Keychain, which doctor cannot see)' : '';
  return fail(`Claude credentials: none found${mac}; set ANTHROPIC_API_KEY in .env, or run 'claude' once and log in with /login`);
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function checkInotify(ctx: CommandContext, paths: VaultPaths): Promise<CheckResult> {
  let limit: number;
  try {
    limit = Number((await readFile(INOTIFY_FILE, 'utf8')).trim());
  } catch {
    return pass('inotify watch limit: not applicable on this system');
  }
  const override = Number(ctx.io.env[MIN_WATCHES_ENV]);
  const need = Number.isFinite(override) && override > 0 ? override : inotifyWatchesNeeded(paths.root);
  const fix = `raise it: sudo sysctl fs.inotify.max_user_watches=524288 (and add that line to /etc/sysctl.d/90-inotify.conf)`;
  if (!Number.isFinite(limit)) return fail(`inotify watch limit: cannot read ${INOTIFY_FILE}`);
  if (limit < need) return fail(`inotify watch limit ${limit} is below the ${need} the service needs (one per watched folder, whatever the vault's size); ${fix}`);
  const warn = limit < WATCHES_WARN_BELOW ? `; warning: below ${WATCHES_WARN_BELOW}, other programs share this limit — ${fix}` : '';
  return pass(`inotify watch limit ${limit} (the service needs ${need})${warn}`);
}

async function checkWorkingDirs(config: Config, paths: VaultPaths): Promise<CheckResult> {
  const index = new TaskIndex(new NoteStore(), paths, silentLogger());
  await index.scan();
  const bad: string[] = [];
  let checked = 0;
  for (const e of index.entries()) {
    if (e.state.kind !== 'task') continue;
    const task = e.state.task;
    // Only named dirs: a task without one gets a scratch folder, which doctor must not create.
    if ((task.status !== 'new' && task.status !== 'planned') || !task.workingDir) continue;
    checked++;
    try {
      await resolveWorkingDir(task, config, paths);
    } catch (err) {
      bad.push(`${task.id}: ${shortMessage(err, 240)}`);
    }
  }
  const roots = config.workspaceRoots.length ? config.workspaceRoots.join(', ') : '(none set)';
  if (bad.length) return fail(`working dirs: ${bad.length} of ${checked} queued tasks cannot run; fix their working_dir or WORKSPACE_ROOTS (${roots})`, bad);
  return pass(checked ? `working dirs of ${checked} queued tasks exist inside WORKSPACE_ROOTS` : 'working dirs: no queued task names one');
}

/** QUEUE_URL set: remote workers take runs from this Redis; unreachable, every run waits. */
async function checkQueue(url: string): Promise<CheckResult> {
  const p = await probeQueue(url);
  return p.ok ? pass(`queue: ${p.detail}; runs go to remote workers (vaultrunner worker)`) : fail(`queue: ${p.detail}; start Redis or fix QUEUE_URL (docs/scaling.md)`);
}

async function checkLock(paths: VaultPaths): Promise<CheckResult> {
  const { info, state } = await inspectLock(paths.lock);
  const since = info ? `, since ${new Date(info.startedAt).toLocaleString()}` : '';
  if (state === 'free') return pass('service lock: free (the service is not running)');
  if (state === 'held') return pass(`service running (pid ${info!.owner.pid} on ${info!.owner.host}${since})`);
  return fail(`stale service lock: pid ${info!.owner.pid} on ${info!.owner.host} is gone${since}; 'vaultrunner start' clears it, or delete ${paths.lock}`);
}

async function checkConflicts(paths: VaultPaths): Promise<CheckResult> {
  const found: string[] = [];
  for (const folder of TASK_FOLDERS) {
    const dir = join(paths.root, folder);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (classifyPath(paths.root, join(dir, name)).kind === 'conflict-copy') found.push(`${folder}/${name}`);
    }
  }
  if (found.length) return fail(`sync conflict copies: ${found.length}; vaultrunner ignores them: merge each into its original by hand, then delete it`, found);
  return pass('no sync conflict copies in the task folders');
}

/** The web view's and the webhook's keys; a non-loopback WEB_HOST is a ✓ with a warning. */
function checkWeb(env: NodeJS.ProcessEnv): CheckResult {
  let web;
  try {
    web = loadWebConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(`web view / notifications: ${err.message}`);
  }
  // The webhook URL may hold a secret (Slack's path does): only its host is shown.
  const hook = web.notifyUrl ? `; webhook to ${new URL(web.notifyUrl).host} on ${web.notifyOn.join(', ')}` : '; no webhook (NOTIFY_URL)';
  if (web.port === undefined) return pass(`web view off (WEB_PORT or 'start --web' turns it on)${hook}`);
  const where = `${web.host}:${web.port === 0 ? '<any free port>' : web.port}`;
  const warn = isLoopbackHost(web.host) ? '' : `; warning: WEB_HOST=${web.host} is not loopback, the page is reachable from the network (keep 127.0.0.1 and use a reverse proxy, see docs/web.md)`;
  return pass(`web view on ${where}${warn}${hook}`);
}

export async function runChecks(ctx: CommandContext): Promise<CheckResult[]> {
  const envFile = checkEnvFile(ctx);
  const { result, config } = checkConfig(ctx, envFile.file);
  const results = [envFile.result, result];
  if (!config) return results;
  const paths = vaultPaths(config.vaultDir);
  const env = readEnv(ctx, envFile.file);
  results.push(await checkLayout(paths));
  // With remote workers the agents and their credentials live on the workers, not here.
  if (config.queue) results.push(pass('agents: run on the remote workers (QUEUE_URL), configured by each worker\'s own .env; not checked on this machine'));
  else {
    results.push(...(await checkAgents(ctx, config, env)));
    results.push(await checkCredentials(ctx, env));
  }
  results.push(checkWeb(env));
  if (config.queue) results.push(await checkQueue(config.queue.url));
  if (ctx.values.online) results.push(await checkOnline(env, credentialsFile(ctx), envFile.file.path ?? 'the environment or a .env file'));
  results.push(await checkInotify(ctx, paths));
  if (existsSync(paths.needsAction)) results.push(await checkWorkingDirs(config, paths));
  results.push(await checkLock(paths));
  results.push(await checkConflicts(paths));
  if (existsSync(paths.needsAction)) results.push(await checkWorkspaces(config, paths, new NoteStore()));
  return results;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check config, vault, agent CLIs, credentials, limits, working dirs, lock and sync conflicts',
  usage: 'doctor [--vault <dir>] [--online]',
  help: [
    'Prints one ✓ or ✗ line per check, each ✗ with how to fix it; exit 0 when all pass, else 1.',
    'Checks: which .env is read (--env-file, VAULTRUNNER_ENV, else ./.env); the config is valid; the vault folders exist and are writable; each agent CLI is found',
    '(with its version); Claude credentials exist (ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN in the',
    'environment or .env, or a login in ~/.claude: present, not verified); the inotify watch limit suffices (the service needs',
    `one watch per watched folder; a warning below ${WATCHES_WARN_BELOW}, as Obsidian and other programs share it); the working_dir of every queued task`,
    'exists inside WORKSPACE_ROOTS; the web view and webhook keys (a warning when WEB_HOST is not loopback);',
    'no stale service lock; no sync-conflict copies in task folders.',
    `${MIN_WATCHES_ENV}=<n> (read only by doctor) overrides the required number of watches.`,
    '--online also sends one minimal authenticated request (GET /v1/models, no tokens used) to',
    'ANTHROPIC_BASE_URL or the Anthropic API with those credentials and reports whether they work.',
    'Doctor never writes to the vault and never prints a secret.',
  ].join('\n'),
  options: { online: { type: 'boolean' } },
  async run(ctx) {
    const results = await runChecks(ctx);
    const lines: string[] = [];
    for (const r of results) {
      lines.push(`${r.ok ? '✓' : '✗'} ${r.line}`);
      for (const d of r.details ?? []) lines.push(`    ${d}`);
    }
    const failed = results.filter((r) => !r.ok).length;
    lines.push('', failed ? `${failed} of ${results.length} checks failed` : `all ${results.length} checks passed`);
    ctx.io.stdout.write(`${lines.join('\n')}\n`);
    return failed ? 1 : 0;
  },
};

