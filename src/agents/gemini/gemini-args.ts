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

export function geminiSettings(maxAttempts?: number): string {
  const settings = {
    security: { auth: { selectedType: 'gemini-api-key' } },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, ...(maxAttempts !== undefined ? { maxAttempts } : {}) },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
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
  if (env.GOOGLE_GEMINI_BASE_URL) env.GOOGLE_GEMINI_BASE_URL = checkBaseUrl('GOOGLE_GEMINI_BASE_URL', env.GOOGLE_GEMINI_BASE_URL);
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
