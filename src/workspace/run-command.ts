// Running one operator-defined command (a setup step or a gate) in a worktree: argv only, a clean
// environment, its own process group killed whole on timeout or abort, output kept bounded (the
// first and the last part, which is where installers and test runners say what went wrong).
import { spawn } from 'node:child_process';
import { groupAlive, terminateGroup } from '../os/process.js';

export interface CommandResult {
  name: string;
  argv: readonly string[];
  ok: boolean;
  /** null when killed by a signal or never started. */
  exitCode: number | null;
  signal?: NodeJS.Signals;
  timedOut: boolean;
  /** Set when the command could not be started (e.g. ENOENT). */
  spawnError?: string;
  durationMs: number;
  /** Head and tail of stdout+stderr as they interleaved, with a marker where the middle was cut. */
  outputTail: string;
  /** Total output in bytes (including what was cut). */
  outputBytes: number;
}

export interface RunCommandOptions {
  name: string;
  argv: readonly string[];
  cwd: string;
  timeoutMs: number;
  /** SIGTERM → SIGKILL grace on timeout or abort (default 2 s). */
  killGraceMs?: number;
  /** The parent environment to pick from (default process.env). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Added after cleaning: e.g. the run marker, VAULTRUNNER_TASK_ID. */
  env?: Readonly<Record<string, string>>;
  /** Bytes kept from the start and from the end of the output (default 4 KiB and 12 KiB). */
  headBytes?: number;
  tailBytes?: number;
  /** Each chunk as it arrives (for the run's transcript); errors thrown here are ignored. */
  onOutput?: (chunk: string) => void;
  signal?: AbortSignal;
  /** Called once the command is running, with its process-group id (crash tests stop here). */
  onSpawn?: (pgid: number) => void;
  /** Clock for durations (tests). */
  now?: () => number;
}

// What a build or test command may need from the parent; everything else (API keys, tokens, the
// service's own settings) stays out. CI=1 makes test runners non-interactive and colourless.
const PASS_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME'] as const;

export function commandEnv(base: NodeJS.ProcessEnv = process.env, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of PASS_ENV) if (base[k] !== undefined) env[k] = base[k];
  return { ...env, CI: '1', NO_COLOR: '1', TERM: 'dumb', GIT_TERMINAL_PROMPT: '0', ...extra };
}

/** Keeps the first `head` and the last `tail` bytes of a stream. */
export class HeadTail {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  total = 0;

  constructor(
    private readonly headMax: number,
    private readonly tailMax: number,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headLen < this.headMax) {
      const take = chunk.subarray(0, this.headMax - this.headLen);
      this.head.push(take);
      this.headLen += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailLen += chunk.length;
    while (this.tailLen - this.tail[0]!.length >= this.tailMax) this.tailLen -= this.tail.shift()!.length;
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    let tail = Buffer.concat(this.tail);
    const cut = this.total - this.headLen - Math.min(tail.length, this.tailMax);
    if (tail.length > this.tailMax) tail = tail.subarray(tail.length - this.tailMax);
    const tailText = tail.toString('utf8').replace(/^\uFFFD+/, ''); // a character split by the cut
    return cut > 0 ? `${head}\n… (${cut} bytes cut) …\n${tailText}` : head + tailText;
  }
}

export async function runCommand(opts: RunCommandOptions): Promise<CommandResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const buf = new HeadTail(opts.headBytes ?? 4096, opts.tailBytes ?? 12_288);
  const base = { name: opts.name, argv: opts.argv };
  if (opts.argv.length === 0) return { ...base, ok: false, exitCode: null, timedOut: false, spawnError: 'empty argv', durationMs: 0, outputTail: '', outputBytes: 0 };
  return new Promise<CommandResult>((resolve) => {
    const child = spawn(opts.argv[0]!, opts.argv.slice(1), {
      cwd: opts.cwd,
      env: commandEnv(opts.baseEnv, opts.env),
      detached: true, // its own process group: a timeout ends everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pgid = child.pid;
    if (pgid !== undefined) opts.onSpawn?.(pgid);
    let timedOut = false;
    let stopping: Promise<unknown> | undefined;
    const stop = () => {
      if (pgid !== undefined && !stopping) stopping = terminateGroup(pgid, opts.killGraceMs ?? 2000);
    };
    const onData = (c: Buffer) => {
      buf.push(c);
      try {
        opts.onOutput?.(c.toString('utf8'));
      } catch {
        /* the transcript is best effort */
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    const onAbort = () => stop();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) stop();
    let spawnError: string | undefined;
    child.once('error', (err) => {
      spawnError = err.message;
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      void (async () => {
        await stopping;
        // Background jobs left in the group must not outlive the step.
        if (pgid !== undefined && groupAlive(pgid)) await terminateGroup(pgid, 500);
        resolve({
          ...base,
          ok: code === 0 && !timedOut && !spawnError,
          exitCode: spawnError ? null : code,
          ...(signal ? { signal } : {}),
          timedOut,
          ...(spawnError ? { spawnError } : {}),
          durationMs: now() - started,
          outputTail: buf.text(),
          outputBytes: buf.total,
        });
      })();
    });
  });
}
