// The real `claude` CLI (the devDependency) pointed at our scripted model server on 127.0.0.1,
// with a throwaway HOME: the one setup every service test that drives real Claude Code shares.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/config/config.js';
import type { ConfigKey } from '../../src/config/config.js';
import type { WorkspaceConfigKey } from '../../src/config/workspace-config.js';
import { claudeTestEnv, startModelServer, type Handler, type ModelServer, type RecordedRequest } from '../fixtures/model-server.js';
import { createHarness, type Harness } from './vault-harness.js';

// The pinned devDependency; CI also runs the claude tests against the newest 2.x (VAULTRUNNER_TEST_CLAUDE_BIN, see .ci/run).
export const CLAUDE_BIN = process.env.VAULTRUNNER_TEST_CLAUDE_BIN || join(PACKAGE_ROOT, 'node_modules', '.bin', 'claude');

/** Service settings that run every task with the real claude CLI, allowed to edit files. */
export const CLAUDE_CONFIG = { AGENT: 'claude', CLAUDE_BIN, PERMISSION_MODE: 'acceptEdits' } as const;

export interface ClaudeRig {
  server: ModelServer;
  /** The CLI's HOME (it keeps its sessions under $HOME/.claude/projects/<escaped cwd>/). */
  home: string;
  /** Only the variables that point the CLI at the server (for a service spawned as a child process). */
  vars(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function startClaudeRig(handler?: Handler): Promise<ClaudeRig> {
  const server = await startModelServer(handler ? { handler } : {});
  const home = mkdtempSync(join(tmpdir(), 'vr-home-'));
  return {
    server,
    home,
    vars: (extra = {}) => ({ HOME: home, ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', ...extra }),
    async close() {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** An in-process service (the vault harness) whose agent is the real claude CLI talking to `rig`. */
export function claudeHarness(rig: ClaudeRig, config: Partial<Record<ConfigKey | WorkspaceConfigKey, string>> = {}, extraEnv: NodeJS.ProcessEnv = {}): Harness {
  return createHarness({ ...CLAUDE_CONFIG, ...config }, { agentEnv: claudeTestEnv(rig.server.url, rig.home, extraEnv) as Record<string, string> });
}

/** Is this request the first of a CLI run (its last user message is a prompt, not a tool result)? */
export const isPromptTurn = (req: RecordedRequest): boolean => req.toolResults.length === 0;

/** How many tool results the conversation holds so far (0 on a run's first turn; a resumed session counts its earlier ones). */
export const toolTurns = (req: RecordedRequest): number =>
  ((req.body?.messages ?? []) as { role: string; content: unknown }[]).filter((m) => m.role === 'user' && Array.isArray(m.content) && (m.content as { type: string }[]).some((b) => b.type === 'tool_result')).length;
