// Pure: one codex run → argv, environment and the config.toml we own (CODEX_HOME = our state dir).
// codex ignores OPENAI_BASE_URL, so the endpoint goes in as a custom `model_providers` entry.
import { join } from 'node:path';
import { AgentError } from '../../errors.js';
import type { PermissionMode } from '../agent.js';
import { agentEnv } from '../process/env.js';
import type { OwnedFile } from '../json-cli-run.js';

export const CODEX_PROVIDER_ID = 'vaultrunner';
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Permission ceiling → `codex exec -s`. `codex exec` never asks (approval "never"), so the sandbox is the whole story. */
export const CODEX_SANDBOX: Record<PermissionMode, 'read-only' | 'workspace-write' | 'danger-full-access'> = {
  plan: 'read-only', // codex exec has no plan mode; read-only is the narrowest sandbox: reads, no writes
  default: 'read-only', // nothing that would need an approval may happen headless
  acceptEdits: 'workspace-write', // writes inside the working directory only, no network
  bypassPermissions: 'danger-full-access',
};

export interface CodexArgsInput {
  permissionMode: PermissionMode;
  model?: string;
  resumeSessionId?: string;
  /** The service-owned CODEX_HOME. */
  stateDir: string;
  /** Base environment (the operator's): OPENAI_BASE_URL / OPENAI_API_KEY are read from it. */
  env: NodeJS.ProcessEnv;
  /** Provider-level retries (request and stream); undefined keeps codex's default. */
  apiRetries?: number;
}

export interface CodexLaunch {
  args: string[];
  env: NodeJS.ProcessEnv;
  files: OwnedFile[];
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export function checkValue(what: string, value: string): string {
  // A value that looks like a flag or spans lines is a config mistake, not something to pass on.
  if (value.startsWith('-') || /[\r\n\0]/.test(value)) {
    throw new AgentError('AGENT_FAILED', `invalid ${what}: ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkSessionId(id: string): string {
  if (!SESSION_ID.test(id)) throw new AgentError('AGENT_FAILED', `invalid session id to resume: ${JSON.stringify(id)}`);
  return id;
}

export function checkBaseUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentError('AGENT_FAILED', `${name} is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentError('AGENT_FAILED', `${name} must be an http(s) URL, got ${url.protocol}`);
  return raw.replace(/\/+$/, '');
}

/** TOML basic string: JSON's escapes are a subset TOML accepts. */
const tomlString = (s: string) => JSON.stringify(s);

export function codexConfigToml(baseUrl: string, apiRetries?: number): string {
  const lines = [
    '# Written by vaultrunner for each run; edits here are overwritten.',
    `model_provider = ${tomlString(CODEX_PROVIDER_ID)}`,
    '',
    `[model_providers.${CODEX_PROVIDER_ID}]`,
    `name = ${tomlString(CODEX_PROVIDER_ID)}`,
    `base_url = ${tomlString(baseUrl)}`,
    'wire_api = "responses"',
    'env_key = "OPENAI_API_KEY"',
  ];
  if (apiRetries !== undefined) lines.push(`request_max_retries = ${apiRetries}`, `stream_max_retries = ${apiRetries}`);
  return `${lines.join('\n')}\n`;
}

export function buildCodexLaunch(input: CodexArgsInput): CodexLaunch {
  const sandbox = CODEX_SANDBOX[input.permissionMode];
  if (sandbox === undefined) throw new AgentError('PERMISSION_DENIED', `codex cannot run with permission mode "${String(input.permissionMode)}"`);
  const baseUrl = checkBaseUrl('OPENAI_BASE_URL', input.env.OPENAI_BASE_URL || DEFAULT_OPENAI_BASE_URL);
  if (input.apiRetries !== undefined && (!Number.isInteger(input.apiRetries) || input.apiRetries < 0)) {
    throw new AgentError('AGENT_FAILED', `codex apiRetries must be a non-negative integer, got ${input.apiRetries}`);
  }
  // `exec resume` takes no -s of its own: every option goes before `resume`, or the resumed run
  // silently falls back to read-only.
  const args = ['exec', '--json', '-s', sandbox, '--skip-git-repo-check'];
  if (input.model) args.push('-m', checkValue('model', input.model));
  if (input.resumeSessionId) args.push('resume', checkSessionId(input.resumeSessionId));
  args.push('-'); // the prompt comes on stdin
  const env = agentEnv(input.env, 'openai');
  env.CODEX_HOME = input.stateDir;
  return { args, env, files: [{ path: join(input.stateDir, 'config.toml'), content: codexConfigToml(baseUrl, input.apiRetries) }] };
}
