// Pure helpers for spawning Claude Code: argv, permission ceiling, child environment.
import { PERMISSION_MODES, type PermissionMode } from '../agent.js';
import { agentEnv } from '../process/env.js';
import { AgentError } from '../../errors.js';

export interface ClaudeArgsInput {
  permissionMode: PermissionMode;
  model?: string;
  allowedTools?: string[];
  resumeSessionId?: string;
  /** Already clamped by the operator's MAX_BUDGET_USD; the CLI ends the run with `error_max_budget_usd` past it. */
  maxBudgetUsd?: number;
}

/**
 * Print mode skips the trust prompt, so without these a repository's `.claude/settings*.json`
 * (hooks, permissions, plugins) and `.mcp.json` servers would run past the permission ceiling.
 */
const REPO_CONFIG_OFF: readonly string[] = Object.freeze(['--setting-sources', 'user', '--strict-mcp-config']);

/**
 * argv for one non-interactive run. The prompt goes to stdin, never to argv. Never
 * `--dangerously-skip-permissions`: bypass is only reachable through `--permission-mode`.
 */
export function buildClaudeArgs(input: ClaudeArgsInput): string[] {
  if (!(PERMISSION_MODES as readonly string[]).includes(input.permissionMode)) {
    throw new AgentError('PERMISSION_DENIED', `unknown permission mode "${String(input.permissionMode)}"`, { retryable: false });
  }
  // `stream-json` without `--verbose` is refused by the CLI in print mode.
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', input.permissionMode, ...REPO_CONFIG_OFF];
  if (input.model !== undefined && input.model !== '') {
    args.push('--model', checkValue('model', input.model));
  }
  const tools = (input.allowedTools ?? []).map((t) => t.trim()).filter((t) => t !== '');
  // The `=` form keeps the list one argv element, so it cannot swallow the next flag.
  if (tools.length > 0) args.push(`--allowedTools=${tools.join(',')}`);
  if (input.resumeSessionId !== undefined && input.resumeSessionId !== '') {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(input.resumeSessionId)) {
      throw new AgentError('AGENT_FAILED', `invalid session id to resume: "${input.resumeSessionId}"`, { retryable: false });
    }
    args.push('--resume', input.resumeSessionId);
  }
  if (input.maxBudgetUsd !== undefined) {
    if (!Number.isFinite(input.maxBudgetUsd) || input.maxBudgetUsd <= 0) {
      throw new AgentError('AGENT_FAILED', `invalid budget: ${String(input.maxBudgetUsd)} USD`, { retryable: false });
    }
    args.push('--max-budget-usd', String(input.maxBudgetUsd));
  }
  return args;
}

function checkValue(flag: string, value: string): string {
  // A value that looks like a flag or spans lines is a config mistake, not something to pass on.
  if (value.startsWith('-') || /[\r\n\0]/.test(value)) {
    throw new AgentError('AGENT_FAILED', `invalid --${flag} value: ${JSON.stringify(value)}`, { retryable: false });
  }
  return value;
}

export { ENCLOSING_SESSION_VARS } from '../process/env.js';

/** Copy of `base` without enclosing-session markers or other vendors' keys. Keeps ANTHROPIC_* and the rest. */
export function childEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return agentEnv(base, 'anthropic');
}
