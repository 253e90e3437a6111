// The service's side of the scanner (scanner-main.ts): started with the service (prestart), else by
// the first scan; requests matched to replies by id. A scan that does not answer in time is stuck
// on one process's environment: the scanner is killed, the scan fails (the caller goes on without
// it), and that process is skipped by later scans for as long as it exists.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { VaultrunnerError } from '../../errors.js';
import { compiledScript } from '../compiled-script.js';
import { processStartTime } from '../process.js';
import type { ScanReply, ScanRequest } from './protocol.js';

export interface ProcScannerOptions {
  /** The scanner program (default: the compiled scanner-main.js). */
  script?: string;
  /** A scan not answered this long is stuck (normally it takes a millisecond or two). */
  timeoutMs?: number;
  /** The scanner must be listening this long after it was started. */
  startMs?: number;
  /** Where the process folders are (default /proc; tests give a folder of their own). */
  root?: string;
}

interface Pending {
  name: string;
  value: string;
  resolve: (groups: number[]) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * No optimizing compiler for the scanner: its loop waits on /proc system calls, and TurboFan
 * compiling and recompiling it was a fifth of the scanner's CPU in a burst of runs. In the service,
 * 300 notes, 3 rotations: 0.73-0.87 s of its CPU as it was, 0.60-0.64 s so (benchmarks round 18).
 */
const SCANNER_NODE_FLAGS = ['--no-opt'] as const;

export class ProcScanner {
  private proc: ChildProcess | undefined;
  private ready = false;
  private startTimer: NodeJS.Timeout | undefined;
  private waiting: Pending[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 1;
  /** Pids whose environment could not be read in time, with their start time then. */
  private readonly stuckPids = new Map<number, string | undefined>();
  private readonly script: string;
  private readonly timeoutMs: number;
  private readonly startMs: number;
  private readonly root: string;

  constructor(opts: ProcScannerOptions = {}) {
    this.script = opts.script ?? defaultScript();
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.startMs = opts.startMs ?? 30_000;
    this.root = opts.root ?? '/proc';
  }

  /** The scanner's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Scans are waiting on its answers. */
  get busy(): boolean {
    return this.pending.size > 0 || this.waiting.length > 0;
  }

  /** Pids skipped because reading them got stuck (tests, doctor). */
  get skipped(): number[] {
    return [...this.stuckPids.keys()];
  }

  /** Start the scanner now (the service, once ready), so the first run's end does not wait for it. */
  prestart(): void {
    if (!this.proc) this.launch();
  }

  /** Process groups holding a process whose environment has `name=value` (see groupsWithEnv). */
  groupsWithEnv(name: string, value: string): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      const p: Pending = { name, value, resolve, reject };
      if (this.proc && this.ready) this.send(p);
      else {
        this.waiting.push(p); // before the launch: one that fails at once rejects it
        if (!this.proc) this.launch();
      }
      this.refresh();
    });
  }

  /** Let the scanner go (it exits on disconnect). */
  close(): void {
    const proc = this.proc;
    if (!proc) return;
    this.lost(proc, new VaultrunnerError('PROC_SCAN_FAILED', 'the process scanner was closed'));
    try {
      proc.disconnect();
    } catch {
      // already gone
    }
  }

  private launch(): void {
    let proc: ChildProcess;
    try {
      // Nothing of ours in its environment or flags: it needs none.
      proc = fork(this.script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: {}, execArgv: [...SCANNER_NODE_FLAGS] });
    } catch (err) {
      this.failAll(new VaultrunnerError('PROC_SCAN_FAILED', `the process scanner could not start: ${(err as Error).message}`, { cause: err, retryable: true }));
      return;
    }
    this.proc = proc;
    this.ready = false;
    this.startTimer = setTimeout(() => this.stuck(proc, `the process scanner did not start within ${Math.round(this.startMs / 1000)}s`), this.startMs);
    this.startTimer.unref();
    proc.on('message', (m: ScanReply) => this.onReply(proc, m));
    proc.once('error', (err) => this.lost(proc, new VaultrunnerError('PROC_SCAN_FAILED', `the process scanner failed: ${err.message}`, { cause: err, retryable: true })));
    proc.once('exit', () => this.lost(proc, new VaultrunnerError('PROC_SCAN_FAILED', 'the process scanner ended before it answered', { retryable: true })));
    // It must not keep the service alive by itself (refreshed while scans wait on it).
    proc.unref();
    this.refresh();
  }

  private onReply(proc: ChildProcess, m: ScanReply): void {
    if (proc !== this.proc) return;
    if (m.type === 'ready') {
      clearTimeout(this.startTimer);
      this.ready = true;
      for (const p of this.waiting.splice(0)) this.send(p);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m.groups);
    this.refresh();
  }

  private send(p: Pending): void {
    const proc = this.proc!;
    const id = this.nextId++;
    this.pending.set(id, p);
    p.timer = setTimeout(() => this.stuck(proc, `the process scan did not answer within ${Math.round(this.timeoutMs / 1000)}s`), this.timeoutMs);
    p.timer.unref();
    const msg: ScanRequest = { type: 'scan', id, name: p.name, value: p.value, ...(this.root !== '/proc' ? { root: this.root } : {}), skip: this.skipList() };
    try {
      proc.send(msg, (err) => {
        if (err) this.lost(proc, new VaultrunnerError('PROC_SCAN_FAILED', `could not reach the process scanner: ${err.message}`, { cause: err, retryable: true }));
      });
    } catch (err) {
      this.lost(proc, new VaultrunnerError('PROC_SCAN_FAILED', `could not reach the process scanner: ${(err as Error).message}`, { cause: err, retryable: true }));
    }
  }

  /** The stuck pids still there (same start time: not a reused pid). */
  private skipList(): number[] {
    for (const [pid, start] of this.stuckPids) {
      if (!existsSync(`${this.root}/${pid}`) || processStartTime(pid, this.root) !== start) this.stuckPids.delete(pid);
    }
    return [...this.stuckPids.keys()];
  }

  /** Not answering: note which process it is stuck on, kill it (SIGKILL ends even a blocked read). */
  private stuck(proc: ChildProcess, why: string): void {
    if (proc !== this.proc) return;
    const pid = proc.pid !== undefined ? this.readingNow(proc.pid) : undefined;
    if (pid !== undefined) this.stuckPids.set(pid, processStartTime(pid, this.root));
    proc.kill('SIGKILL');
    const which = pid !== undefined ? `: reading the environment of process ${pid} is stuck (it is skipped from now on)` : '';
    this.lost(proc, new VaultrunnerError('PROC_SCAN_FAILED', `${why}${which}`, { retryable: true }));
  }

  /** The process whose environ the scanner has open, from its open files (no help from it needed). */
  private readingNow(scannerPid: number): number | undefined {
    const environ = new RegExp(`^${escapeRegExp(this.root)}/(\\d+)/environ$`);
    try {
      for (const fd of readdirSync(`/proc/${scannerPid}/fd`)) {
        const m = environ.exec(safeReadlink(`/proc/${scannerPid}/fd/${fd}`));
        if (m) return Number(m[1]);
      }
    } catch {
      // no /proc, or it is gone
    }
    return undefined;
  }

  private lost(proc: ChildProcess, err: Error): void {
    if (proc !== this.proc) return;
    this.proc = undefined;
    this.ready = false;
    clearTimeout(this.startTimer);
    this.failAll(err);
  }

  private failAll(err: Error): void {
    const all = [...this.waiting.splice(0), ...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /** Hold the event loop open through the channel only while replies are awaited. */
  private refresh(): void {
    const channel = this.proc?.channel as { ref?(): void; unref?(): void } | undefined;
    if (this.busy) channel?.ref?.();
    else channel?.unref?.();
  }
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The compiled scanner beside this file; from the sources (tests) the build's copy in dist/. */
export function defaultScript(): string {
  return compiledScript(import.meta.url, 'scanner-main.js');
}

let shared: ProcScanner | undefined;

/** The one scanner per process. */
export function sharedScanner(): ProcScanner {
  return (shared ??= new ProcScanner());
}

/** Replace the shared scanner (tests: one with its own root or time limit), closing the old one. */
export function setSharedScanner(scanner: ProcScanner | undefined): void {
  if (shared !== scanner) shared?.close();
  shared = scanner;
}

/** The service's shutdown: the scanner exits (it also exits when the service dies). Kept while
 *  scans still wait on it (another service in this process). */
export function closeSharedScanner(): void {
  if (shared && !shared.busy) shared.close();
}
