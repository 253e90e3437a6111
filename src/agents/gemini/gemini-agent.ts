// Agent adapter for the Gemini CLI (`gemini --output-format stream-json`), with a GEMINI_CLI_HOME we own.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { execa } from 'execa';
import { AgentError } from '../../errors.js';
import type { Agent, AgentCapabilities, AgentProbe, AgentRun, AgentRunRequest } from '../agent.js';
import { agentEnv } from '../process/env.js';
import { repositoryFolders } from '../repo-folders.js';
import { failedRun, launchFailed, probeVersion, recoverJsonCli, requestSpec, startJsonCli } from '../json-cli-run.js';
import { buildGeminiLaunch } from './gemini-args.js';
import { GEMINI_AUTH_FIX, GeminiEventParser, classifyGemini } from './gemini-events.js';

export interface GeminiAgentOptions {
  /** Path or command name of the `gemini` binary (GEMINI_BIN). */
  bin: string;
  /** Directory the service owns for this agent, used as GEMINI_CLI_HOME (e.g. `<vault>/.vaultrunner/agents/gemini`). Resume needs the same one. */
  stateDir: string;
  name?: string;
  /** Model when the request names none (MODEL_GEMINI); GEMINI_DEFAULT_MODEL otherwise. */
  model?: string;
  /** The CLI's own attempts per API call (`general.maxAttempts`; 1 = no retries); undefined keeps its default (10). */
  maxAttempts?: number;
  maxLineBytes?: number;
  /** No output for this long → stopped, retryable AGENT_TIMEOUT (AGENT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  spawn?: typeof execa;
}

/** Gemini CLI resumes (`--resume`), maps every mode onto --approval-mode, reports tokens (no cost) and has a plan approval mode. */
export const GEMINI_CAPABILITIES: AgentCapabilities = Object.freeze({
  resume: true,
  permissionModes: Object.freeze(['plan', 'default', 'acceptEdits', 'bypassPermissions'] as const),
  reportsCost: false,
  reportsTokens: true,
  planMode: true,
});

/**
 * The `.gemini/.env` gemini would load from the run's repository: in `cwd` or a folder above it,
 * up to the repository's top (the first folder with a `.git`; just `cwd` outside a repository).
 * gemini 0.61 loads that file into its own environment for every variable not already set
 * whenever the workspace is trusted, which a headless run needs (`--skip-trust`), and no setting
 * turns it off: an `LD_PRELOAD` there ran a library of the repository's in the `git` gemini starts,
 * in plan mode too. Checked before every spawn, so one an agent wrote stops the next run.
 */
export function repositoryEnvFile(cwd: string): string | undefined {
  // Outside a repository the folders above are the operator's (a ~/.gemini/.env holding their key).
  return repositoryFolders(cwd, 'cwd')
    .map((dir) => join(dir, '.gemini', '.env'))
    .find((file) => existsSync(file));
}

export function createGeminiAgent(opts: GeminiAgentOptions): Agent {
  const { bin, stateDir } = opts;

  function start(req: AgentRunRequest): AgentRun {
    let launch;
    try {
      const model = req.model || opts.model;
      launch = buildGeminiLaunch({
        permissionMode: req.permissionMode,
        stateDir,
        env: req.env,
        ...(model ? { model } : {}),
        ...(req.resumeSessionId ? { resumeSessionId: req.resumeSessionId } : {}),
        ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
      });
    } catch (err) {
      return launchFailed(err);
    }
    if (!req.env.GEMINI_API_KEY) return failedRun(new AgentError('AGENT_AUTH', `no GEMINI_API_KEY for gemini; ${GEMINI_AUTH_FIX}`));
    const envFile = repositoryEnvFile(req.cwd);
    if (envFile) {
      const why = `gemini would load ${envFile} into its environment (it does for every run it trusts, and a headless run must), so the repository could set variables such as LD_PRELOAD for the processes gemini starts, past the permission ceiling; remove that file, or give this task another agent`;
      return failedRun(new AgentError('PERMISSION_DENIED', why, { retryable: false }));
    }
    const parser = new GeminiEventParser();
    return startJsonCli({
      label: 'gemini',
      bin,
      args: launch.args,
      env: launch.env,
      files: launch.files,
      parser,
      ...requestSpec(req, opts),
      classify: (exit) => classifyGemini(parser, exit, bin),
    });
  }

  const probe = (): Promise<AgentProbe> => probeVersion(bin, 'gemini', '@google/gemini-cli', agentEnv(process.env, 'gemini'), opts.spawn);
  // A run that finished while the service was down is read back from its saved stdout.
  const recoverOutcome = (stdout: string) => {
    const p = new GeminiEventParser();
    return recoverJsonCli(p, stdout, (exit) => classifyGemini(p, exit, bin));
  };
  return { name: opts.name ?? 'gemini', kind: 'gemini', capabilities: GEMINI_CAPABILITIES, start, probe, recoverOutcome };
}
