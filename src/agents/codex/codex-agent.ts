// Agent adapter for the Codex CLI (`codex exec --json`), run with a CODEX_HOME the service owns.
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { execa } from 'execa';
import { AgentError } from '../../errors.js';
import type { Agent, AgentCapabilities, AgentProbe, AgentRun, AgentRunRequest } from '../agent.js';
import { agentEnv } from '../process/env.js';
import { failedRun, launchFailed, probeVersion, recoverJsonCli, requestSpec, startJsonCli } from '../json-cli-run.js';
import { buildCodexLaunch } from './codex-args.js';
import { CODEX_AUTH_FIX, CodexEventParser, classifyCodex, codexErrorInfoFromRollout, type CodexErrorInfo } from './codex-events.js';

export interface CodexAgentOptions {
  /** Path or command name of the `codex` binary (CODEX_BIN). */
  bin: string;
  /** Directory the service owns for this agent, used as CODEX_HOME (e.g. `<vault>/.vaultrunner/agents/codex`). */
  stateDir: string;
  name?: string;
  /** Model when the request names none (MODEL_CODEX); codex's own default otherwise. */
  model?: string;
  /** Retries codex itself makes per API request/stream; undefined keeps codex's default (the engine retries too). */
  apiRetries?: number;
  maxLineBytes?: number;
  /** No output for this long → stopped, retryable AGENT_TIMEOUT (AGENT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  spawn?: typeof execa;
}

/** The rollout file codex keeps per thread: `<home>/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl`. */
function findRollout(home: string, threadId: string): string | undefined {
  const suffix = `-${threadId}.jsonl`;
  const walk = (dir: string, depth: number): string | undefined => {
    let names: string[];
    try {
      names = readdirSync(dir).sort().reverse(); // newest date first
    } catch {
      return undefined;
    }
    for (const n of names) {
      if (depth === 3) {
        if (n.endsWith(suffix)) return join(dir, n);
      } else {
        const hit = walk(join(dir, n), depth + 1);
        if (hit) return hit;
      }
    }
    return undefined;
  };
  return walk(join(home, 'sessions'), 0);
}

/** The error kind codex recorded for this thread (its JSON events carry only a message). */
function readErrorInfo(home: string, threadId: string | undefined): CodexErrorInfo | undefined {
  if (!threadId) return undefined;
  const file = findRollout(home, threadId);
  if (!file) return undefined;
  try {
    const size = statSync(file).size;
    const len = Math.min(size, 256 * 1024); // the error is near the end
    const buf = Buffer.alloc(len);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, len, size - len);
    } finally {
      closeSync(fd);
    }
    return codexErrorInfoFromRollout(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Codex resumes (`exec resume`), maps every mode onto its sandbox, reports tokens (no cost); no plan mode of its own (plan runs read-only). */
export const CODEX_CAPABILITIES: AgentCapabilities = Object.freeze({
  resume: true,
  permissionModes: Object.freeze(['plan', 'default', 'acceptEdits', 'bypassPermissions'] as const),
  reportsCost: false,
  reportsTokens: true,
  planMode: false,
});

export function createCodexAgent(opts: CodexAgentOptions): Agent {
  const { bin, stateDir } = opts;

  function start(req: AgentRunRequest): AgentRun {
    let launch;
    try {
      launch = buildCodexLaunch({
        permissionMode: req.permissionMode,
        stateDir,
        env: req.env,
        ...(req.model || opts.model ? { model: (req.model || opts.model)! } : {}),
        ...(req.resumeSessionId ? { resumeSessionId: req.resumeSessionId } : {}),
        ...(opts.apiRetries !== undefined ? { apiRetries: opts.apiRetries } : {}),
      });
    } catch (err) {
      return launchFailed(err);
    }
    if (!req.env.OPENAI_API_KEY) return failedRun(new AgentError('AGENT_AUTH', `no OPENAI_API_KEY for codex; ${CODEX_AUTH_FIX}`));
    const parser = new CodexEventParser();
    return startJsonCli({
      label: 'codex',
      bin,
      args: launch.args,
      env: launch.env,
      files: launch.files,
      parser,
      ...requestSpec(req, opts),
      classify: (exit) => classifyCodex(parser, exit, bin, parser.failed !== undefined ? readErrorInfo(stateDir, parser.sessionId) : undefined),
    });
  }

  const probe = (): Promise<AgentProbe> => probeVersion(bin, 'codex', '@openai/codex', agentEnv(process.env, 'openai'), opts.spawn);
  // A run that finished while the service was down is read back from its saved stdout.
  const recoverOutcome = (stdout: string) => {
    const p = new CodexEventParser();
    return recoverJsonCli(p, stdout, (exit) => classifyCodex(p, exit, bin));
  };
  return { name: opts.name ?? 'codex', kind: 'codex', capabilities: CODEX_CAPABILITIES, start, probe, recoverOutcome };
}
