// Agent adapter for opencode (`opencode run --format json`), with config and state dirs we own.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { execa } from 'execa';
import { AgentError } from '../../errors.js';
import type { Agent, AgentCapabilities, AgentProbe, AgentRun, AgentRunRequest } from '../agent.js';
import { agentEnv } from '../process/env.js';
import { FirstStartGate, gatedRun, type GateRelease } from '../process/gated-run.js';
import { repositoryFolders } from '../repo-folders.js';
import { failedRun, launchFailed, probeVersion, recoverJsonCli, requestSpec, startJsonCli } from '../json-cli-run.js';
import { buildOpencodeLaunch } from './opencode-args.js';
import { OPENCODE_AUTH_FIX, OpencodeEventParser, classifyOpencode } from './opencode-events.js';

export interface OpencodeAgentOptions {
  /** Path or command name of the `opencode` binary (OPENCODE_BIN). */
  bin: string;
  /** Directory the service owns for this agent (config, session database); resume needs the same one. */
  stateDir: string;
  name?: string;
  /** Model when the request names none (MODEL_OPENCODE); one of the two is required. */
  model?: string;
  maxLineBytes?: number;
  /** No output for this long → stopped, retryable AGENT_TIMEOUT (AGENT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  /** After an `error` event, how long it may take to exit by itself (default 5 s). */
  endGraceMs?: number;
  spawn?: typeof execa;
}

/** opencode resumes (`-s`), maps every mode onto its permission rules, reports tokens and cost, and has a read-only plan agent. */
export const OPENCODE_CAPABILITIES: AgentCapabilities = Object.freeze({
  resume: true,
  permissionModes: Object.freeze(['plan', 'default', 'acceptEdits', 'bypassPermissions'] as const),
  reportsCost: true,
  reportsTokens: true,
  planMode: true,
});

/** A run's own config dir left by a crash is removed after this long (opencode reads it in its first seconds). */
export const STALE_RUN_DIR_MS = 24 * 60 * 60 * 1000;

/** Remove run config dirs older than STALE_RUN_DIR_MS (a run that ends removes its own); never throws. */
export function sweepStaleRunDirs(stateDir: string, now = Date.now()): void {
  const runs = join(stateDir, 'runs');
  let names: string[];
  try {
    names = readdirSync(runs);
  } catch {
    return;
  }
  for (const n of names) {
    try {
      const dir = join(runs, n);
      if (now - statSync(dir).mtimeMs > STALE_RUN_DIR_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // raced with another sweep or its own run's end: nothing to do
    }
  }
}

/**
 * A `.opencode/plugin` or `.opencode/plugins` folder holding a .js or .ts file in `cwd` or above
 * it up to the repository's top (outside a repository: up to the root): opencode 1.18.33 imports
 * those (their code runs in its process) even with OPENCODE_DISABLE_PROJECT_CONFIG, and no flag of
 * its turns that off; it does not look above the repository (measured), so a person's own
 * ~/.opencode/plugins does not count for a repository under their home. Checked before every
 * spawn, so a plugin an agent wrote during a run is caught before the next one.
 */
export function repositoryPlugins(cwd: string): string | undefined {
  for (const dir of repositoryFolders(cwd, 'root')) {
    for (const sub of ['plugin', 'plugins']) {
      const folder = join(dir, '.opencode', sub);
      let names: string[] = [];
      try {
        names = readdirSync(folder);
      } catch {
        // none there
      }
      if (names.some((n) => /\.(?:[cm]?js|[cm]?ts)$/i.test(n))) return folder;
    }
  }
  return undefined;
}

export function createOpencodeAgent(opts: OpencodeAgentOptions): Agent {
  const { bin, stateDir } = opts;
  // opencode sets up its session database on its first start, and two first starts at once fail
  // ("database is locked", a table made twice): the first run of this agent goes alone until it prints.
  const firstStart = new FirstStartGate();

  function start(req: AgentRunRequest): AgentRun {
    const model = req.model || opts.model;
    if (!model) return failedRun(new AgentError('AGENT_FAILED', 'opencode needs a model: set MODEL_OPENCODE (or the task\'s model)'));
    let launch;
    try {
      launch = buildOpencodeLaunch({
        permissionMode: req.permissionMode,
        model,
        cwd: req.cwd,
        stateDir,
        runId: `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
        env: req.env,
        ...(req.resumeSessionId ? { resumeSessionId: req.resumeSessionId } : {}),
      });
    } catch (err) {
      return launchFailed(err);
    }
    if (!req.env.OPENAI_API_KEY) return failedRun(new AgentError('AGENT_AUTH', `no OPENAI_API_KEY for opencode; ${OPENCODE_AUTH_FIX}`));
    const plugins = repositoryPlugins(req.cwd);
    if (plugins) return failedRun(new AgentError('PERMISSION_DENIED', `opencode would load and run the plugins in ${plugins} (it does even with project config off), past the permission ceiling; remove them, or give this task another agent`, { retryable: false }));
    sweepStaleRunDirs(stateDir);
    const { runDir } = launch;
    const removeRunDir = () => rmSync(runDir, { recursive: true, force: true });
    const spawnOne = (release: GateRelease): AgentRun => {
      const parser = new OpencodeEventParser();
      const spec = requestSpec(req, opts);
      const run = startJsonCli({
        label: 'opencode',
        bin,
        args: launch.args,
        env: launch.env,
        files: launch.files,
        parser,
        ...spec,
        // Its first line on stdout comes after its database is set up: the next run may start.
        onRawLine: (line) => {
          release(true);
          spec.onRawLine?.(line);
        },
        classify: (exit) => classifyOpencode(parser, exit, bin),
      });
      // Its config is only for this run; if it went while a stray still started, the deny-all floor config applies.
      void run.outcome.then(() => release(false)).then(removeRunDir).catch(() => undefined);
      return run;
    };
    return gatedRun(firstStart.enter(), 'opencode', spawnOne, (release) => {
      release(false);
      removeRunDir();
    });
  }

  const probe = (): Promise<AgentProbe> => probeVersion(bin, 'opencode', 'opencode-ai', agentEnv(process.env, 'openai'), opts.spawn);
  // A run that finished while the service was down is read back from its saved stdout.
  const recoverOutcome = (stdout: string) => {
    const p = new OpencodeEventParser();
    // No end event: a last step the model ended itself ("stop") is its finished answer.
    return recoverJsonCli(p, stdout, (exit) => classifyOpencode(p, exit, bin), (q) => q.lastReason === 'stop');
  };
  return { name: opts.name ?? 'opencode', kind: 'opencode', capabilities: OPENCODE_CAPABILITIES, start, probe, recoverOutcome };
}
