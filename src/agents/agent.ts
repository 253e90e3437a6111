// The one interface every agent CLI plugs in behind. The engine knows nothing of any CLI's flags.
import type { AgentError } from '../errors.js';

import type { PermissionMode } from '../config/permission-modes.js';

export { PERMISSION_MODES, type PermissionMode } from '../config/permission-modes.js';

/** What a run shows a person in its transcript, normalised across agents. */
export type AgentEvent =
  | { kind: 'init'; sessionId: string; model?: string; cwd?: string }
  | { kind: 'text'; text: string }
  | { kind: 'tool_use'; id?: string; name: string; input: unknown }
  | { kind: 'tool_result'; toolUseId?: string; isError: boolean; content: string }
  | { kind: 'stderr'; text: string }
  | { kind: 'other'; type: string };

export interface AgentRunRequest {
  taskId: string;
  attempt: number;
  /** Goes to the child's stdin, which is then closed. */
  prompt: string;
  /** Existing directory, already checked against WORKSPACE_ROOTS. */
  cwd: string;
  model?: string;
  /** Already clamped to the operator's ceiling. */
  permissionMode: PermissionMode;
  allowedTools?: string[];
  /** Continue this agent session instead of starting a new one. */
  resumeSessionId?: string;
  /** Spend cap for this run in USD, already clamped by the operator's MAX_BUDGET_USD (see clampBudgetUsd). Honoured by claude. */
  maxBudgetUsd?: number;
  /** Base environment for the child (the adapter removes what must not leak, e.g. CLAUDECODE). */
  env: NodeJS.ProcessEnv;
  /** Called for every parsed event, in order, as it arrives. */
  onEvent?: (event: AgentEvent) => void;
  /** Called for every raw stdout line (bounded length), for the .jsonl record. */
  onRawLine?: (line: string) => void;
  /** Files (owned by the service) that take the CLI's stdout and stderr instead of pipes, so a
   *  run outlives a crashed service and its result can be read afterwards (recoverOutcome). */
  outputFiles?: { stdout: string; stderr: string };
}

/** Token counts an agent reported (codex, gemini and opencode report tokens; not all report cost). */
export interface AgentTokens {
  input: number;
  output: number;
  /** Input tokens served from the provider's cache, when reported. */
  cached?: number;
}

export interface AgentSuccess {
  ok: true;
  sessionId?: string;
  costUsd?: number;
  tokens?: AgentTokens;
  numTurns?: number;
  /** The agent's final answer text, if it gives one. */
  result?: string;
  permissionDenials: string[];
  exitCode: number;
}

export interface AgentFailure {
  ok: false;
  error: AgentError;
  sessionId?: string;
  costUsd?: number;
  tokens?: AgentTokens;
  numTurns?: number;
  result?: string;
  permissionDenials: string[];
  exitCode: number | null;
  signal?: string;
}

export type AgentOutcome = AgentSuccess | AgentFailure;

export type StopReason = 'timeout' | 'cancel' | 'pause' | 'shutdown';

export interface AgentRun {
  /** Process-group leader pid (the child is spawned detached); 0 until `spawned` settles. */
  readonly pid: number;
  /** Settles once `pid` is final (a spawner process answers asynchronously); never rejects.
   *  Absent: `pid` was final at once. */
  readonly spawned?: Promise<void>;
  /** Settles when the process has exited and its output is drained; never rejects. */
  readonly outcome: Promise<AgentOutcome>;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`. Resolves when the child has exited. */
  stop(reason: StopReason, graceMs: number): Promise<void>;
}

export interface AgentProbe {
  ok: boolean;
  version?: string;
  detail: string;
}

/**
 * What an adapter declares it can do; the engine asks this, never the agent's `kind`.
 * Absent on an adapter means DEFAULT_CAPABILITIES (no resume, plan mode only through the prompt).
 */
export interface AgentCapabilities {
  /** Continues a session it reported (`resumeSessionId`): Claude's --resume; command agents get
   *  VAULTRUNNER_RESUME_SESSION. The engine resumes after pause, shutdown and crash only if true. */
  resume: boolean;
  /** Permission modes it can honour; a task whose (clamped) mode is not listed fails with PERMISSION_DENIED. */
  permissionModes: readonly PermissionMode[];
  /** Reports cost in USD / token counts in its outcome. */
  reportsCost: boolean;
  reportsTokens: boolean;
  /** Has a real read-only plan mode (so PLANNER=agent can use it safely). */
  planMode: boolean;
}

export const DEFAULT_CAPABILITIES: AgentCapabilities = Object.freeze({
  resume: false,
  // An adapter that declares nothing cannot be trusted to stay read-only.
  permissionModes: Object.freeze(['default', 'acceptEdits', 'bypassPermissions'] as const),
  reportsCost: false,
  reportsTokens: false,
  planMode: false,
});

export function capabilitiesOf(agent: Pick<Agent, 'capabilities'>): AgentCapabilities {
  return agent.capabilities ?? DEFAULT_CAPABILITIES;
}

/** Which CLI an agent drives. */
export type AgentKind = 'claude' | 'codex' | 'gemini' | 'opencode' | 'command';

export interface Agent {
  readonly name: string;
  /** Which CLI it drives, for banners and doctor. */
  readonly kind: AgentKind;
  /** What it can do (see AgentCapabilities); optional so older adapters keep building. */
  readonly capabilities?: AgentCapabilities;
  start(req: AgentRunRequest): AgentRun;
  /** Is the CLI callable (e.g. `claude --version`)? Cheap; the watchdog calls it. */
  probe(): Promise<AgentProbe>;
  /**
   * The outcome a finished run's stdout records (its final result event), or undefined when it
   * records none (still running, cut off, or a CLI whose result is only its exit code). Used after
   * a restart for a run that ended while the service was down, so it is recorded, not run again.
   */
  recoverOutcome?(stdout: string): AgentOutcome | undefined;
}
