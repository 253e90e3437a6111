// The child's environment: the base (the service's) minus what must not leak into an agent, plus
// what the adapter sets. Every adapter builds its child's env here.

/**
 * Variables that mark an enclosing Claude Code session. Claude Code 2.1.197 sets CLAUDECODE=1,
 * CLAUDE_CODE_SESSION_ID, CLAUDE_CODE_CHILD_SESSION=1, CLAUDE_EFFORT and AI_AGENT for the
 * commands it runs, and CLAUDE_CODE_ENTRYPOINT / CLAUDE_CODE_EXECPATH for itself; an IDE sets
 * CLAUDE_CODE_SSE_PORT (makes the CLI try to attach to that IDE). None must leak into our child.
 */
export const ENCLOSING_SESSION_VARS = [
  'CLAUDECODE',
  'CLAUDE_CODE_ENTRYPOINT',
  'CLAUDE_CODE_SESSION_ID',
  'CLAUDE_CODE_CHILD_SESSION',
  'CLAUDE_CODE_EXECPATH',
  'CLAUDE_CODE_SSE_PORT',
  'CLAUDE_EFFORT',
] as const;

/** Our per-run variables: set by the adapter for this run only, never inherited from the base. */
export const RUN_VARS = ['VAULTRUNNER_TASK_ID', 'VAULTRUNNER_ATTEMPT', 'VAULTRUNNER_RESUME_SESSION', 'VAULTRUNNER_PERMISSION_MODE'] as const;

/**
 * Each vendor's credentials. A run gets only its own vendor's: a claude run never sees
 * OPENAI_API_KEY, a codex run never sees ANTHROPIC_API_KEY (see `agentEnv`).
 */
export const VENDOR_SECRETS = {
  anthropic: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'],
  openai: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
  gemini: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
} as const;
export type Vendor = keyof typeof VENDOR_SECRETS;

/** The operator's own settings whose values are secrets (QUEUE_URL's password, NOTIFY_URL's token). */
export const OPERATOR_SECRETS = ['QUEUE_URL', 'NOTIFY_URL'] as const;

/** cleanEnv, minus every other vendor's credentials: what one built-in agent's child may see. */
export function agentEnv(base: NodeJS.ProcessEnv, vendor: Vendor, set: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = cleanEnv(base, set);
  for (const [v, keys] of Object.entries(VENDOR_SECRETS)) if (v !== vendor) for (const k of keys) delete env[k];
  return env;
}

/** Copy of `base` without enclosing-session markers or stale run variables, with `set` applied (undefined deletes). */
export function cleanEnv(base: NodeJS.ProcessEnv, set: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const k of ENCLOSING_SESSION_VARS) delete env[k];
  for (const k of RUN_VARS) delete env[k];
  // Operator settings that carry secrets no agent needs: Redis' password, a webhook's token.
  for (const k of OPERATOR_SECRETS) delete env[k];
  // AI_AGENT is generic; only drop the value Claude Code itself set.
  if (env.AI_AGENT?.startsWith('claude-code')) delete env.AI_AGENT;
  for (const [k, v] of Object.entries(set)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}
