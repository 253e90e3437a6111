// Shared pieces of the benchmarks: building dist/, temp vaults, the real CLI as a child process,
// the no-op agent's log, /proc readings and statistics.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
// BENCH_CLI: benchmark another build of the CLI (e.g. a copy of dist/ before a change).
export const CLI = process.env.BENCH_CLI ? resolve(process.env.BENCH_CLI) : join(ROOT, 'dist', 'cli.js');
// BENCH_BASELINE_CLI: a second build that throughput runs inside the same reps, rotating the order
// (a before/after in one run: back-to-back runs drift with whatever ran before them).
export const BASELINE_CLI = process.env.BENCH_BASELINE_CLI ? resolve(process.env.BENCH_BASELINE_CLI) : undefined;
export const NOOP_AGENT = join(import.meta.dirname, 'noop-agent.mjs');
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Newest mtime of any file under `dir` with the given extension. */
function newest(dir: string, ext: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) max = Math.max(max, newest(p, ext));
    else if (e.name.endsWith(ext)) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

/** Build dist/ with tsc when it is missing or older than src/ (benchmarks run the real CLI). */
export function ensureBuilt(log: (s: string) => void): void {
  if (process.env.BENCH_CLI) return;
  const built = existsSync(CLI) ? statSync(CLI).mtimeMs : 0;
  if (built >= newest(join(ROOT, 'src'), '.ts')) return;
  log('building dist/ (tsc) …');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { encoding: 'utf8' });
  if (r.status !== 0 && !existsSync(CLI)) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
}

export interface BenchDir {
  root: string;
  vault: string;
  agentLog: string;
  cleanup(): void;
}

/** A temp folder under os.tmpdir() holding a vault (with its task folders) and the agent log. */
export function benchDir(prefix: string): BenchDir {
  const root = mkdtempSync(join(tmpdir(), `vr-bench-${prefix}-`));
  const vault = join(root, 'vault');
  for (const f of ['Needs_Action', 'Plans', 'Done', 'Pending_Approval', 'Logs', 'Templates']) mkdirSync(join(vault, f), { recursive: true });
  const agentLog = join(root, 'agent.log');
  writeFileSync(agentLog, '');
  return { root, vault, agentLog, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Environment for the service: the no-op agent, default intervals (pickup is event-driven). */
export function serviceEnv(dir: BenchDir, extra: Record<string, string> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of Object.keys(env)) if (/^(VAULT_DIR|EXECUTOR_|MAX_CONCURRENT|TASK_TIMEOUT|ORCHESTRATOR_|WATCHDOG_|PLANNER|AGENT$|COMMAND_AGENTS|WORKSPACE_ROOTS|VAULTRUNNER_|CLAUDECODE|RETRY_BACKOFF|MAX_ATTEMPTS|LOG_LEVEL|KILL_GRACE|LEASE_TTL|PERMISSION_MODE|CLAUDE_BIN)/.test(k)) delete env[k];
  return {
    ...env,
    AGENT: 'noop',
    COMMAND_AGENTS: JSON.stringify({ noop: [process.execPath, NOOP_AGENT] }),
    ORCHESTRATOR_INTERVAL: '60s',
    EXECUTOR_INTERVAL: '30s',
    WATCHDOG_INTERVAL: '15s',
    BENCH_LOG: dir.agentLog,
    ...extra,
  };
}

export interface ServiceChild {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves with the parent's Date.now() when "vaultrunner started" appeared on stderr. */
  ready: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** `node [nodeArgs] <cli, dist/cli.js by default> start --vault <vault>` with stdout/stderr captured. */
export function startService(dir: BenchDir, env: NodeJS.ProcessEnv, nodeArgs: string[] = [], cli = CLI): ServiceChild {
  const child = spawn(process.execPath, [...nodeArgs, cli, 'start', '--vault', dir.vault], { cwd: dir.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // The last ~200 KB of its output, kept as chunks: copying and searching one 200 KB string at
  // every chunk of the service's console lines was ~2 ms of this process's CPU per task, on the
  // cores whose time the benchmark measures, and only while ours ran (the floor prints nothing).
  const chunks: string[] = [];
  let size = 0;
  let started = false;
  const out = () => chunks.join('').slice(-200_000);
  let onReady: (t: number) => void;
  let onFail: (e: Error) => void;
  const ready = new Promise<number>((res, rej) => ((onReady = res), (onFail = rej)));
  const take = (d: Buffer) => {
    const s = String(d);
    chunks.push(s);
    size += s.length;
    // Drop a chunk only while the rest still holds 200 KB: out() then always has its full tail.
    while (chunks.length > 1 && size - chunks[0]!.length >= 200_000) size -= chunks.shift()!.length;
    // Until then the output is a few lines: searched whole (the phrase may span two chunks).
    if (!started && out().includes('vaultrunner started')) {
      started = true;
      onReady(Date.now());
    }
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => {
      onFail(new Error(`service exited (${code ?? signal}) before ready:\n${out().slice(-2000)}`));
      res({ code, signal });
    }),
  );
  return {
    child,
    pid: child.pid!,
    output: out,
    ready,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The first JSON log line (vault/Logs/*.jsonl) containing every needle. */
export function logLine(vault: string, ...needles: string[]): Record<string, unknown> | undefined {
  const dir = join(vault, 'Logs');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!needles.every((n) => l.includes(n))) continue;
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        /* torn line */
      }
    }
  }
  return undefined;
}

export function noteText(frontmatter: string, body = 'Do nothing, quickly.\n'): string {
  return `---\n${frontmatter.trim()}\n---\n${body}`;
}

/** Write under a dot-temp name in the vault root, then rename into Needs_Action/ (an editor's save). */
export function stageNote(vault: string, id: string, text: string): string {
  const tmp = join(vault, `.${id}.bench.tmp`);
  writeFileSync(tmp, text);
  return tmp;
}

export function dropStaged(vault: string, id: string, tmp: string): void {
  renameSync(tmp, join(vault, 'Needs_Action', `${id}.md`));
}

export interface AgentRecord {
  task: string;
  pid: number;
  processStart: number;
  codeStart: number;
  end?: number;
}

/** Parses the no-op agent's log into one record per run. */
export function readAgentLog(path: string): AgentRecord[] {
  const runs: AgentRecord[] = [];
  const open = new Map<number, AgentRecord>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const p = line.split(' ');
    if (p[0] === 'start') {
      const r = { task: p[1]!, pid: Number(p[2]), processStart: Number(p[3]), codeStart: Number(p[4]) };
      runs.push(r);
      open.set(r.pid, r);
    } else if (p[0] === 'end') {
      const r = open.get(Number(p[2]));
      if (r) r.end = Number(p[3]);
    }
  }
  return runs;
}

export async function waitUntil<T>(fn: () => T, what: string, timeoutMs: number, everyMs = 5): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Wait until `fn` is truthy, looking again on each change the kernel reports in `paths` (files or
 * folders) and every `netMs` as a net for a missed event. A benchmark must not load the machine it
 * measures: the loops of 2–20 ms this replaces cost up to 7 s of CPU in a 1,000-note run.
 */
export function waitForFact<T>(fn: () => T, paths: string[], what: string, timeoutMs: number, netMs = 100): Promise<NonNullable<T>> {
  return new Promise((resolve, reject) => {
    const watchers: FSWatcher[] = [];
    let finished = false;
    const finish = (v?: NonNullable<T>, err?: unknown) => {
      if (finished) return;
      finished = true;
      for (const w of watchers) w.close();
      clearInterval(net);
      clearTimeout(timer);
      if (err !== undefined) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(v!);
    };
    const check = () => {
      if (finished) return;
      try {
        const v = fn();
        if (v) finish(v as NonNullable<T>);
      } catch (err) {
        finish(undefined, err);
      }
    };
    const net = setInterval(check, netMs);
    const timer = setTimeout(() => finish(undefined, new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    for (const p of paths) watchers.push(watch(p, check));
    check();
  });
}

/**
 * Resolves with Date.now() once `dir` holds `n` notes (none ever leaves it here). Counted from the
 * folder's own events, one existence check per new name, with a full listing every `netMs` (a
 * second) as the net: listing a `Done/` of up to 1,000 names every 20 ms was 7.4 s of CPU in a
 * 1,000-note run, about 4 % of the two cores whose time the benchmark measures.
 */
export function untilNotes(dir: string, n: number, timeoutMs: number, netMs = 1000): Promise<number> {
  const seen = new Set<string>();
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      const at = Date.now();
      watcher.close();
      clearInterval(net);
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(at);
    };
    const watcher = watch(dir, (_event, name) => {
      if (!name || !isNote(name) || seen.has(name) || !existsSync(join(dir, name))) return;
      seen.add(name);
      if (seen.size >= n) finish();
    });
    const net = setInterval(() => countMd(dir) >= n && finish(), netMs);
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${n} notes in ${dir}`)), timeoutMs);
    for (const name of readdirSync(dir)) if (isNote(name)) seen.add(name);
    if (seen.size >= n) finish();
  });
}

/** A note's name as the benchmarks count them: `.md`, not a dot-file (our temp files are). */
const isNote = (name: string) => name.endsWith('.md') && !name.startsWith('.');

export function countMd(dir: string): number {
  try {
    return readdirSync(dir).filter(isNote).length;
  } catch {
    return 0;
  }
}

// ---- /proc ----------------------------------------------------------------------------------

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The whole machine's CPU counters (all cores, jiffies): busy and total since boot. */
export function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total }; // idle and iowait are not busy
}

/** The share of the machine's CPU time that was busy between two readings (0–1). */
export const busyShare = (a: { busy: number; total: number }, b: { busy: number; total: number }) => (b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0);

/** Resident set size in MB (0 once the process is gone). */
export function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 overall
}

/** Wait until `pid` uses < 2 % of a core in two 500 ms windows in a row (the tail of its start-up
 *  work, e.g. the first dashboard write 1 s after start, is done), at most `maxMs`; returns how
 *  long that took. */
/** Wait for two quiet 500 ms windows in a row; says whether that happened within `maxMs`. */
export async function waitQuiet(pid: number, maxMs = 15_000): Promise<{ ms: number; quiet: boolean }> {
  const t0 = Date.now();
  let last = cpuSeconds(pid);
  let quiet = 0;
  while (Date.now() - t0 < maxMs && quiet < 2) {
    await sleep(500);
    const now = cpuSeconds(pid);
    quiet = now - last < 0.01 ? quiet + 1 : 0;
    last = now;
  }
  return { ms: Date.now() - t0, quiet: quiet >= 2 };
}

// ---- statistics ------------------------------------------------------------------------------

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}

export const median = (xs: number[]) => percentile(xs, 0.5);
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface BenchResult {
  /** Goes on the JSON line as {"bench": name, ...figures}. */
  name: string;
  figures: Record<string, unknown>;
  /** Rows of the readable table: [what, value, target, verdict]. */
  rows: [string, string, string, string][];
}

export const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
