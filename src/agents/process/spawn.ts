// Spawning an agent CLI the one way: argv array (never a shell string), the prompt on stdin, a
// clean environment, its own process group, bounded line splitting of stdout and stderr, exit
// drain, and no leftovers in its group after it ends. Adapters only parse lines and judge outcomes.
// Runs with output files are forked by a small spawner process (spawner/), not by the service.
import { closeSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { AgentError, shortMessage } from '../../errors.js';
import type { AgentOutcome, AgentRun, StopReason } from '../agent.js';
import type { SplitLine } from './line-splitter.js';
import { RunControl } from './run-control.js';
import { formatDuration } from '../../config/duration.js';
import { FileFollower, openOutputFds, type OutputFiles } from './output-files.js';
import { outputSinks } from './output-sinks.js';
import { sharedSpawner, type SpawnerClient } from './spawner/spawner-client.js';

export interface SpawnOptions {
  program: string;
  args: readonly string[];
  cwd: string;
  /** Written to stdin, which is then closed. */
  stdin: string;
  /** The child's whole environment (build it with cleanEnv); nothing else is inherited. */
  env: NodeJS.ProcessEnv;
  onStdoutLine: (line: SplitLine) => void;
  onStderrLine?: (line: SplitLine) => void;
  /** Every raw stderr chunk (e.g. for a tail buffer of error text). */
  onStderrChunk?: (chunk: Buffer) => void;
  /** Longest stdout / stderr line kept (longer ones are cut; memory stays bounded). */
  stdoutLineBytes?: number;
  stderrLineBytes?: number;
  /** Process spawner (tests inject one); defaults to execa, or for `outputFiles` runs to `spawner`. */
  spawn?: typeof execa;
  /** The spawner process for `outputFiles` runs without `spawn` (tests inject one); default: one per process. */
  spawner?: SpawnerClient;
  /** No stdout/stderr bytes for this long → the group is stopped and `idleMs` set (AGENT_IDLE_TIMEOUT). */
  idleTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace when the idle timeout stops the group (default 2 s). */
  idleKillGraceMs?: number;
  /** stdout and stderr go to these files (followed as they grow) instead of pipes: the run
   *  outlives a crashed service and its result can be read afterwards. */
  outputFiles?: OutputFiles;
}

/** How the process ended, after its pipes were drained and its group emptied. */
export interface ProcessExit {
  exitCode: number | null;
  signal?: string;
  /** The program could not be started at all (ENOENT, EACCES, …). */
  spawnError?: { code?: string; message: string };
  /** Why stop() was called, if it was, before the process exited. */
  stopReason?: StopReason;
  /** We stopped it after this long without any output (the idle timeout). */
  idleMs?: number;
  /** Its spawner process died while it ran: it was watched by pid until gone, its exit status
   *  is unknown (exitCode null). Judge it like a run adopted after a crash: only output that
   *  proves success counts; anything else is a retryable failure. */
  lost?: true;
}

export interface ProcessHandle {
  /** Process-group leader pid; 0 when the spawn failed, and until `spawned` resolves. */
  readonly pid: number;
  /** The final pid (0: never started): at once for a direct spawn, on the spawner's answer otherwise. */
  spawned: Promise<number>;
  /** stop() bookkeeping and the never-rejecting AgentRun (see control.run). */
  control: RunControl;
  exit: Promise<ProcessExit>;
}

export function spawnProcess(opts: SpawnOptions): ProcessHandle {
  // File-backed runs (every agent run of the service) are forked by the small spawner process.
  if (opts.outputFiles && !opts.spawn) return spawnWithFiles(opts, opts.outputFiles, opts.spawner ?? sharedSpawner());
  const spawn = opts.spawn ?? execa;
  let child: ReturnType<typeof execa>;
  let fds: { stdout: number; stderr: number } | undefined;
  try {
    if (opts.outputFiles) fds = openOutputFds(opts.outputFiles);
    child = spawn(opts.program, [...opts.args], {
      cwd: opts.cwd,
      input: opts.stdin,
      env: opts.env,
      extendEnv: false, // exactly our env: nothing of the parent's comes back in
      detached: true, // own process group, so stop() ends everything the agent started
      buffer: false, // streamed through bounded line splitters, never held whole
      reject: false,
      stripFinalNewline: false,
      // A file descriptor of ours (execa passes integers through; its types only name 3–9).
      ...(fds ? ({ stdout: fds.stdout, stderr: fds.stderr } as unknown as Record<string, never>) : {}),
    });
  } catch (err) {
    closeFds(fds);
    const control = new RunControl(0);
    return { pid: 0, control, spawned: control.spawned, exit: Promise.resolve({ exitCode: null, spawnError: { message: shortMessage(err) } }) };
  }
  // The child holds its own copies now.
  closeFds(fds);
  const pid = child.pid ?? 0;
  const control = new RunControl(pid);
  const sinks = outputSinks(opts, control);
  sinks.arm();
  const followers = opts.outputFiles && pid > 0 ? [new FileFollower(opts.outputFiles.stdout, sinks.onStdout), new FileFollower(opts.outputFiles.stderr, sinks.onStderr)] : [];
  for (const f of followers) f.start();
  (child.stdout as Readable | null)?.on('data', sinks.onStdout);
  (child.stderr as Readable | null)?.on('data', sinks.onStderr);
  control.watchExit(child);
  const exit = (async (): Promise<ProcessExit> => {
    const res = await child;
    await Promise.all(followers.map((f) => f.finish()));
    sinks.end();
    await control.endLeftovers();
    const spawnCode = (res as { code?: string }).code;
    const idleMs = sinks.idleMs();
    return {
      exitCode: res.exitCode ?? null,
      ...(res.signal !== undefined ? { signal: res.signal } : {}),
      ...(res.failed && res.exitCode === undefined && res.signal === undefined ? { spawnError: { code: spawnCode, message: String(res.originalMessage ?? res.shortMessage ?? spawnCode ?? 'spawn failed') } } : {}),
      ...(control.stopReason !== undefined ? { stopReason: control.stopReason } : {}),
      ...(idleMs !== undefined ? { idleMs } : {}),
    };
  })();
  return { pid, control, spawned: control.spawned, exit };
}

/** A file-backed run through the spawner process: its pid comes with its answer (`spawned`). */
function spawnWithFiles(opts: SpawnOptions, files: OutputFiles, spawner: SpawnerClient): ProcessHandle {
  const child = spawner.spawn({ program: opts.program, args: [...opts.args], cwd: opts.cwd, env: definedEnv(opts.env), stdin: opts.stdin, stdinFile: promptFile(files), stdout: files.stdout, stderr: files.stderr });
  const control = new RunControl(0, child.started.then((s) => ('pid' in s ? s.pid : 0)));
  const sinks = outputSinks(opts, control);
  control.watchExit(child);
  const exit = (async (): Promise<ProcessExit> => {
    const start = await child.started;
    const followers = 'pid' in start ? [new FileFollower(files.stdout, sinks.onStdout), new FileFollower(files.stderr, sinks.onStderr)] : [];
    await control.spawned;
    sinks.arm();
    for (const f of followers) f.start();
    const res = await child.exit;
    await Promise.all(followers.map((f) => f.finish()));
    // Said where every adapter looks for why a run failed (its stderr tail / last line).
    if (res.lost) sinks.onStderr(Buffer.from(`${LOST_NOTE}\n`));
    sinks.end();
    await control.endLeftovers();
    const idleMs = sinks.idleMs();
    return {
      exitCode: res.exitCode,
      ...(res.signal !== undefined ? { signal: res.signal } : {}),
      ...('error' in start ? { spawnError: start.error } : {}),
      ...(res.lost ? { lost: true as const } : {}),
      ...(control.stopReason !== undefined ? { stopReason: control.stopReason } : {}),
      ...(idleMs !== undefined ? { idleMs } : {}),
    };
  })();
  return {
    get pid() {
      return control.pid;
    },
    control,
    spawned: control.spawned,
    exit,
  };
}

/** Where the spawner writes the prompt for the child's stdin: beside its output (`x.out` → `x.in`). */
const promptFile = (files: OutputFiles): string => `${files.stdout.replace(/\.out$/, '')}.in`;

/** A run whose spawner died: it was watched by pid until gone; its exit status is unknown. */
export const LOST_NOTE = 'vaultrunner: the spawner process ended while this agent ran; its exit status is unknown';

/** The env as plain strings (an undefined value means "unset", as execa reads it). */
function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function closeFds(fds: { stdout: number; stderr: number } | undefined): void {
  for (const fd of fds ? [fds.stdout, fds.stderr] : []) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** Spawn errors meaning "the program is not there / not runnable": permanent, a config fix. */
export function isNotFound(spawnError: { code?: string } | undefined): boolean {
  const c = spawnError?.code;
  return c === 'ENOENT' || c === 'EACCES' || c === 'ENOTDIR';
}

/** "is not executable" or "was not found", for a not-found spawn error. */
export function notFoundWhy(spawnError: { code?: string }): string {
  return spawnError.code === 'EACCES' ? 'is not executable' : 'was not found';
}

/** The typed failure for a stop we asked for (timeout: retryable; cancel: not). */
export function stoppedError(label: string, reason: StopReason): AgentError {
  return reason === 'timeout'
    ? new AgentError('AGENT_TIMEOUT', `${label} stopped after a timeout`, { retryable: true })
    : new AgentError('AGENT_STOPPED', `${label} stopped (${reason})`, { retryable: reason !== 'cancel' });
}

/** The typed failure for a run the idle timeout stopped: retryable, like any timeout. */
export function idleError(label: string, idleMs: number): AgentError {
  return new AgentError('AGENT_TIMEOUT', `${label} stopped: no output for ${formatDuration(idleMs)}`, { retryable: true });
}

/** An AgentRun that never started (bad arguments, missing cwd). */
export function failedRun(error: AgentError): AgentRun {
  const outcome: AgentOutcome = { ok: false, error, permissionDenials: [], exitCode: null };
  return { pid: 0, outcome: Promise.resolve(outcome), stop: async () => {} };
}

/** Node reports a missing cwd as "spawn <program> ENOENT"; adapters check first and say so. */
export function missingCwd(cwd: string): AgentError | undefined {
  try {
    if (statSync(cwd).isDirectory()) return undefined;
  } catch {
    // fall through
  }
  return new AgentError('WORKSPACE_DENIED', `working directory does not exist: ${cwd}`);
}

/** Call a sink (transcript, events) without letting its failure break the run. */
export function safeCall<T>(fn: ((arg: T) => void) | undefined, arg: T): void {
  if (!fn) return;
  try {
    fn(arg);
  } catch {
    // A failing transcript sink must not break the run.
  }
}
