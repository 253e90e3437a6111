// Pure: one opencode run → argv, environment and the files we own (the run's own opencode.json, a
// deny-all floor config, the plugin dependency seed). Every directory it keeps state in (XDG config/data/cache/state) is under our
// state dir, the project's own opencode config is ignored, and the permission ceiling becomes
// opencode's `permission` block.
import { join } from 'node:path';
import { AgentError } from '../../errors.js';
import type { PermissionMode } from '../agent.js';
import { agentEnv } from '../process/env.js';
import { DEFAULT_OPENAI_BASE_URL, checkBaseUrl, checkValue } from '../codex/codex-args.js';
import type { OwnedFile } from '../json-cli-run.js';

export const OPENCODE_PROVIDER_ID = 'vaultrunner';

type Rule = 'allow' | 'deny';
export interface OpencodePermission {
  edit: Rule;
  bash: Rule;
  webfetch: Rule;
  external_directory: Rule;
}

const NOTHING: OpencodePermission = { edit: 'deny', bash: 'deny', webfetch: 'deny', external_directory: 'deny' };

/** Permission ceiling → opencode agent + permission rules ("ask" is never used: headless, nobody answers). */
export const OPENCODE_MODE: Record<PermissionMode, { agent?: 'plan'; permission: OpencodePermission }> = {
  plan: { agent: 'plan', permission: NOTHING },
  default: { permission: NOTHING },
  acceptEdits: { permission: { ...NOTHING, edit: 'allow' } },
  bypassPermissions: { permission: { edit: 'allow', bash: 'allow', webfetch: 'allow', external_directory: 'allow' } },
};

export interface OpencodeArgsInput {
  permissionMode: PermissionMode;
  /** Required: opencode needs a declared model for our provider. */
  model: string;
  resumeSessionId?: string;
  /** The run's working directory: opencode takes it from $PWD, not from the process cwd. */
  cwd: string;
  stateDir: string;
  /** Unique per run: its config file lives in `<stateDir>/runs/<runId>/` (see opencodeRunDir). */
  runId: string;
  /** The operator's environment: OPENAI_BASE_URL / OPENAI_API_KEY are read from it. */
  env: NodeJS.ProcessEnv;
}

export function opencodeConfig(baseUrl: string, model: string, permission: OpencodePermission): string {
  const config = {
    $schema: 'https://opencode.ai/config.json',
    autoupdate: false,
    share: 'disabled',
    // Its own shadow git repository of the working folder (undo in its TUI): we commit each run's
    // changes ourselves, and that copy of every file cost ~75 git processes per start.
    snapshot: false,
    model: `${OPENCODE_PROVIDER_ID}/${model}`,
    provider: {
      [OPENCODE_PROVIDER_ID]: {
        npm: '@ai-sdk/openai-compatible',
        name: OPENCODE_PROVIDER_ID,
        options: { baseURL: baseUrl, apiKey: '{env:OPENAI_API_KEY}' },
        // tool_call: true, or no tools are offered to the model
        models: { [model]: { name: model, tool_call: true } },
      },
    },
    permission,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * opencode 1.18 starts a background npm install of `@opencode-ai/plugin` (and deps, from the
 * registry, through the user's ~/.npmrc and ~/.npm) into every config dir on every start, unless
 * that dir has a `node_modules` and a package-lock.json whose root lists the package; no env var
 * turns it off. The package only serves JS plugins, and we load none (no `plugin` key, default
 * plugins off), so we seed those two in the config dir we own: nothing is fetched.
 */
export function pluginSeedFiles(configDir: string): OwnedFile[] {
  const lock = { name: 'opencode-config', lockfileVersion: 3, requires: true, packages: { '': { dependencies: { '@opencode-ai/plugin': '*' } } } };
  return [
    { path: join(configDir, 'package-lock.json'), content: `${JSON.stringify(lock, null, 2)}\n` },
    // writing it creates node_modules/, the directory opencode checks for
    { path: join(configDir, 'node_modules', '.vaultrunner'), content: 'vaultrunner: no plugins here on purpose; see docs/agents.md (opencode)\n' },
  ];
}

/**
 * The global config in our XDG config dir, read before OPENCODE_CONFIG: every permission denied, so
 * a run whose own file is missing (removed under a stray process) falls back to nothing, not to
 * opencode's defaults.
 */
export function opencodeFloorConfig(): string {
  return `${JSON.stringify({ $schema: 'https://opencode.ai/config.json', autoupdate: false, share: 'disabled', snapshot: false, permission: NOTHING }, null, 2)}\n`;
}

const OPENCODE_SESSION = /^ses_[A-Za-z0-9]+$/;
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Where one run's config lives: its own directory, so concurrent runs never read each other's permissions or model. */
export function opencodeRunDir(stateDir: string, runId: string): string {
  if (!RUN_ID.test(runId)) throw new AgentError('AGENT_FAILED', `invalid opencode run id: ${JSON.stringify(runId)}`);
  return join(stateDir, 'runs', runId);
}

export function buildOpencodeLaunch(input: OpencodeArgsInput): { args: string[]; env: NodeJS.ProcessEnv; files: OwnedFile[]; runDir: string } {
  const mode = OPENCODE_MODE[input.permissionMode];
  if (mode === undefined) throw new AgentError('PERMISSION_DENIED', `opencode cannot run with permission mode "${String(input.permissionMode)}"`);
  const model = checkValue('model', input.model);
  const baseUrl = checkBaseUrl('OPENAI_BASE_URL', input.env.OPENAI_BASE_URL || DEFAULT_OPENAI_BASE_URL);
  const args = ['run', '--format', 'json', '-m', `${OPENCODE_PROVIDER_ID}/${model}`];
  if (mode.agent) args.push('--agent', mode.agent);
  if (input.resumeSessionId) {
    if (!OPENCODE_SESSION.test(input.resumeSessionId)) throw new AgentError('AGENT_FAILED', `invalid opencode session id to resume: ${JSON.stringify(input.resumeSessionId)}`);
    args.push('-s', input.resumeSessionId);
  }
  // No message argument: the prompt comes on stdin.
  // Per run, not shared: opencode reads it seconds into its start, after a concurrent run could rewrite it.
  const runDir = opencodeRunDir(input.stateDir, input.runId);
  const configPath = join(runDir, 'opencode.json');
  const env = agentEnv(input.env, 'openai');
  for (const k of Object.keys(env)) if (k.startsWith('OPENCODE_')) delete env[k]; // only ours below
  Object.assign(env, {
    PWD: input.cwd,
    OPENCODE_CONFIG: configPath,
    OPENCODE_DISABLE_PROJECT_CONFIG: 'true', // a repo's opencode.json must not widen what runs
    OPENCODE_DISABLE_MODELS_FETCH: 'true',
    OPENCODE_DISABLE_AUTOUPDATE: 'true',
    OPENCODE_DISABLE_DEFAULT_PLUGINS: 'true',
    OPENCODE_DISABLE_LSP_DOWNLOAD: 'true',
    OPENCODE_DISABLE_SHARE: 'true',
    OPENCODE_DISABLE_CLAUDE_CODE: 'true', // not the person's ~/.claude
    // Its "home" only (HOME stays): a ~/.opencode (its installer's folder) would be one more config
    // dir, read after ours (its permission block would win) and given the same plugin install.
    OPENCODE_TEST_HOME: join(input.stateDir, 'home'),
    XDG_CONFIG_HOME: join(input.stateDir, 'config'), // opencode's config dir is <this>/opencode
    XDG_DATA_HOME: join(input.stateDir, 'data'), // its session database: resume needs the same one
    XDG_CACHE_HOME: join(input.stateDir, 'cache'),
    XDG_STATE_HOME: join(input.stateDir, 'state'),
  });
  const configDir = join(input.stateDir, 'config', 'opencode');
  const files = [
    { path: configPath, content: opencodeConfig(baseUrl, model, mode.permission) },
    { path: join(configDir, 'opencode.json'), content: opencodeFloorConfig() },
    ...pluginSeedFiles(configDir),
  ];
  return { args, env, files, runDir };
}
