// Pure: one gemini run → argv, environment and the settings we own. GEMINI_CLI_HOME is our state
// dir (the person's ~/.gemini is never read), and the same settings are the CLI's *system*
// settings, which take precedence over a workspace's own .gemini/settings.json.
import { join } from 'node:path';
import { AgentError } from '../../errors.js';
import type { PermissionMode } from '../agent.js';
import { agentEnv } from '../process/env.js';
import { checkBaseUrl, checkSessionId, checkValue } from '../codex/codex-args.js';
import type { OwnedFile } from '../json-cli-run.js';

/** Used when neither the request nor MODEL_GEMINI names one: without `-m` the CLI first makes a routing call. */
export const GEMINI_DEFAULT_MODEL = 'gemini-2.5-pro';

/** Permission ceiling → `--approval-mode`. Headless, "default" offers no write tool at all. */
export const GEMINI_APPROVAL: Record<PermissionMode, 'plan' | 'default' | 'auto_edit' | 'yolo'> = {
  plan: 'plan',
  default: 'default',
  acceptEdits: 'auto_edit',
  bypassPermissions: 'yolo',
};

export interface GeminiArgsInput {
  permissionMode: PermissionMode;
  model?: string;
  resumeSessionId?: string;
  stateDir: string;
  /** The operator's environment: GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL are read from it. */
  env: NodeJS.ProcessEnv;
  /** `general.maxAttempts` (1 = no retries of its own); undefined keeps the CLI's default. */
  maxAttempts?: number;
}

/** @google/genai's own default endpoint: set explicitly when the operator set none, so a repository's .env cannot. */
export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * `--skip-trust` makes gemini load the workspace's `.gemini/.env` (no setting turns that file off)
 * into its own environment, for every variable not already set. So each variable that could
 * redirect or expose its traffic is always set in the child: the operator's value, else this.
 */
const PINNED_ENV: Record<string, string> = {
  GOOGLE_VERTEX_BASE_URL: '',
  GOOGLE_GENAI_USE_VERTEXAI: 'false',
  GOOGLE_GENAI_USE_GCA: 'false',
  GOOGLE_CLOUD_PROJECT: '',
  GOOGLE_CLOUD_LOCATION: '',
  CODE_ASSIST_ENDPOINT: '',
  NODE_TLS_REJECT_UNAUTHORIZED: '1',
  // The environment outranks the settings' `telemetry.enabled: false` (and sets an OTLP endpoint or outfile).
  GEMINI_TELEMETRY_ENABLED: 'false',
};
/** Proxy variables, both spellings: an empty value means no proxy (undici's EnvHttpProxyAgent, gemini's own `proxy`). */
const PROXY_VARS = ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY'] as const;

export function geminiSettings(maxAttempts?: number): string {
  const settings = {
    security: { auth: { selectedType: 'gemini-api-key' } },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, ...(maxAttempts !== undefined ? { maxAttempts } : {}) },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    // A repository's plain `.env` is never read (its `.gemini/.env` still is: see PINNED_ENV).
    advanced: { ignoreLocalEnv: true },
  };
  return `${JSON.stringify(settings, null, 2)}\n`;
}

export function buildGeminiLaunch(input: GeminiArgsInput): { args: string[]; env: NodeJS.ProcessEnv; files: OwnedFile[] } {
  const mode = GEMINI_APPROVAL[input.permissionMode];
  if (mode === undefined) throw new AgentError('PERMISSION_DENIED', `gemini cannot run with permission mode "${String(input.permissionMode)}"`);
  if (input.maxAttempts !== undefined && (!Number.isInteger(input.maxAttempts) || input.maxAttempts < 1)) {
    throw new AgentError('AGENT_FAILED', `gemini maxAttempts must be a positive integer, got ${input.maxAttempts}`);
  }
  const model = checkValue('model', input.model || GEMINI_DEFAULT_MODEL);
  // No -p: the prompt comes on stdin (a non-TTY stdin makes the run headless).
  const args = ['--output-format', 'stream-json', '-m', model, '--approval-mode', mode, '--skip-trust'];
  if (input.resumeSessionId) args.push('--resume', checkSessionId(input.resumeSessionId));
  const env = agentEnv(input.env, 'gemini');
  env.GOOGLE_GEMINI_BASE_URL = env.GOOGLE_GEMINI_BASE_URL ? checkBaseUrl('GOOGLE_GEMINI_BASE_URL', env.GOOGLE_GEMINI_BASE_URL) : GEMINI_DEFAULT_BASE_URL;
  pinEnv(env);
  const settings = geminiSettings(input.maxAttempts);
  const system = join(input.stateDir, 'system-settings.json');
  Object.assign(env, {
    GEMINI_CLI_HOME: input.stateDir,
    GEMINI_CLI_SYSTEM_SETTINGS_PATH: system,
    // Otherwise it re-launches itself as a child, and a SIGTERM to the parent alone leaves it running.
    GEMINI_CLI_NO_RELAUNCH: 'true',
  });
  return { args, env, files: [{ path: join(input.stateDir, '.gemini', 'settings.json'), content: settings }, { path: system, content: settings }] };
}

/** Sets every PINNED_ENV and proxy variable the operator left unset, so no `.env` file can. */
function pinEnv(env: NodeJS.ProcessEnv): void {
  for (const [k, v] of Object.entries(PINNED_ENV)) env[k] ??= v;
  for (const upper of PROXY_VARS) {
    const lower = upper.toLowerCase();
    // One spelling set by the operator → the other gets the same value (libraries differ in which they read first).
    const value = env[upper] ?? env[lower] ?? '';
    env[upper] ??= value;
    env[lower] ??= value;
  }
}
