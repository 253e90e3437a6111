// The service's side of the spawner (spawner-main.ts): started by `start` once the service is up
// (prestart), else on the first file-backed run; requests matched to replies by id. If it cannot
// start or dies, runs are spawned directly (as before) and it is tried again after `retryMs`; runs
// it had started are then watched by pid and start time until gone, and end with no exit code
// (`lost`): a retryable failure.
import { spawn as spawnNode, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { compiledScript } from '../../../os/compiled-script.js';
import { isAlive, isZombie, processStartTime } from '../../../os/process.js';
import type { SpawnerReply, SpawnRequest } from './protocol.js';
import { startChild } from './start-child.js';

export type ChildRequest = Omit<SpawnRequest, 'type' | 'id'>;
export type ChildStart = { pid: number } | { error: { code?: string; message: string } };
export interface ChildExit {
  exitCode: number | null;
  signal?: string;
  /** The spawner died while the child ran: only its end was seen, not its exit status. */
  lost?: true;
}

/** One child started through the client: emits 'exit' once (for RunControl.watchExit). */
export class SpawnedChild extends EventEmitter {
  readonly started: Promise<ChildStart>;
  readonly exit: Promise<ChildExit>;
  /** Set once `started` resolves with a pid. */
  pid = 0;
  startTime: string | undefined;
  private resolveStart!: (s: ChildStart) => void;
  private resolveExit!: (e: ChildExit) => void;
  private settled = false;

  constructor(readonly request: ChildRequest) {
    super();
    this.started = new Promise((r) => (this.resolveStart = r));
    this.exit = new Promise((r) => (this.resolveExit = r));
  }

  /** Set while the spawner's answer is awaited (see SpawnerClientOptions.answerMs). */
  answerTimer: NodeJS.Timeout | undefined;

  onSpawned(pid: number): void {
    clearTimeout(this.answerTimer);
    this.pid = pid;
    this.startTime = processStartTime(pid);
    this.resolveStart({ pid });
  }

  onError(error: { code?: string; message: string }): void {
    clearTimeout(this.answerTimer);
    this.resolveStart({ error });
    this.onExit({ exitCode: null });
  }

  onExit(e: ChildExit): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveExit(e);
    this.emit('exit');
  }
}

export interface SpawnerClientOptions {
  /** The spawner program (default: the compiled spawner-main.js). */
  script?: string;
  /** After the spawner failed to start or died, spawn directly this long before trying it again. */
  retryMs?: number;
  /** How often a run the dead spawner had started is checked for its end. */
  watchMs?: number;
  /** A spawner that has not answered a request this long is stuck: it is killed (as if it died). */
  answerMs?: number;
}

/**
 * The spawner's V8: no helper threads and no JIT (interpreter only). A fork copies and write-protects
 * the parent's page tables, with a TLB flush on each core running one of its threads, and the
 * spawner runs only a few lines of JavaScript per run. 400 spawns 8 at a time, 4 alternations: its
 * CPU per spawn 3.6-3.8 ms as it was, 3.0-3.1 ms so (docs/benchmarks.md, round 17). The last flag
 * only restates what --jitless implies, so Node prints no warning about it.
 */
const SPAWNER_NODE_FLAGS = ['--single-threaded', '--jitless', '--no-expose-wasm'] as const;

export class SpawnerClient {
  private proc: ChildProcess | undefined;
  private ready = false;
  private queue: SpawnedChild[] = [];
  private live = new Map<number, SpawnedChild>();
  private nextId = 1;
  private retryAt = 0;
  private readonly script: string;
  private readonly retryMs: number;
  private readonly watchMs: number;
  private readonly answerMs: number;

  constructor(opts: SpawnerClientOptions = {}) {
    this.script = opts.script ?? defaultScript();
    this.retryMs = opts.retryMs ?? 5000;
    this.watchMs = opts.watchMs ?? 250;
    this.answerMs = opts.answerMs ?? 10_000;
  }

  /** The spawner's pid while it runs (tests, the bench). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Runs are waiting on its answers. */
  get busy(): boolean {
    return this.live.size > 0 || this.queue.length > 0;
  }

  spawn(req: ChildRequest): SpawnedChild {
    const child = new SpawnedChild(req);
    if (!this.proc && Date.now() >= this.retryAt) this.launch();
    if (!this.proc) this.direct(child);
    else {
      const proc = this.proc;
      // A run must never wait forever on a stuck spawner (stopped, or busy in a loop).
      child.answerTimer = setTimeout(() => this.stuck(proc), this.answerMs);
      child.answerTimer.unref();
      if (this.ready) this.send(child);
      else {
        this.queue.push(child);
        this.refresh();
      }
    }
    return child;
  }

  /** Start the spawner now (the service, once ready), so the first run does not wait for its
   *  Node start-up (~0.1-0.2 s). It does not keep the process alive by itself. */
  prestart(): void {
    if (!this.proc && Date.now() >= this.retryAt) this.launch();
  }

  /** Let the spawner go (it exits on disconnect); runs it started are watched by pid. */
  close(): void {
    const proc = this.proc;
    if (!proc) return;
    this.lost(proc, false);
    try {
      proc.disconnect();
    } catch {
      // already gone
    }
  }

  private stuck(proc: ChildProcess): void {
    if (proc !== this.proc) return;
    proc.kill('SIGKILL');
    this.lost(proc, true);
  }

  private launch(): void {
    let proc: ChildProcess;
    try {
      // Nothing of ours in its environment: it needs none, and each child gets its own whole env.
      proc = spawnNode(process.execPath, [...SPAWNER_NODE_FLAGS, this.script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: {} });
    } catch {
      this.retryAt = Date.now() + this.retryMs;
      return;
    }
    this.proc = proc;
    this.ready = false;
    proc.on('message', (m: SpawnerReply) => this.onReply(proc, m));
    proc.once('error', () => this.lost(proc, true));
    proc.once('exit', () => this.lost(proc, true));
    // It must not keep the service alive by itself (refreshed while runs wait on it).
    proc.unref();
    this.refresh();
  }

  private onReply(proc: ChildProcess, m: SpawnerReply): void {
    if (proc !== this.proc) return;
    if (m.type === 'ready') {
      this.ready = true;
      const queued = this.queue.splice(0);
      for (const c of queued) this.send(c);
      return;
    }
    const child = this.live.get(m.id);
    if (!child) return;
    if (m.type === 'spawned') child.onSpawned(m.pid);
    else {
      this.live.delete(m.id);
      if (m.type === 'error') child.onError({ ...(m.code !== undefined ? { code: m.code } : {}), message: m.message });
      else child.onExit({ exitCode: m.exitCode, ...(m.signal !== null ? { signal: m.signal } : {}) });
      this.refresh();
    }
  }

  private send(child: SpawnedChild): void {
    const proc = this.proc!;
    const id = this.nextId++;
    this.live.set(id, child);
    const msg: SpawnRequest = { type: 'spawn', id, ...child.request };
    const notSent = () => {
      // Never reached the spawner: safe to start it here instead.
      if (this.live.get(id) !== child) return;
      this.live.delete(id);
      this.direct(child);
    };
    try {
      proc.send(msg, (err) => {
        if (err) notSent();
      });
    } catch {
      notSent();
    }
    this.refresh();
  }

  private direct(child: SpawnedChild): void {
    startChild(child.request, {
      spawned: (pid) => child.onSpawned(pid),
      error: (err) => child.onError(err),
      exit: (exitCode, signal) => child.onExit({ exitCode, ...(signal !== null ? { signal } : {}) }),
    });
  }

  /** The spawner ended (or was let go): queued requests start here, started runs are watched. */
  private lost(proc: ChildProcess, retryLater: boolean): void {
    if (proc !== this.proc) return;
    this.proc = undefined;
    this.ready = false;
    if (retryLater) this.retryAt = Date.now() + this.retryMs;
    for (const c of this.queue.splice(0)) this.direct(c);
    for (const c of this.live.values()) {
      if (c.pid > 0) this.watch(c);
      else {
        // Sent but never answered: it may or may not have started; the run fails (retryable)
        // and the engine's end-of-run sweep finds a stray by its run marker.
        c.onError({ code: 'ESPAWNERLOST', message: 'the spawner process ended before it answered' });
      }
    }
    this.live.clear();
  }

  private watch(child: SpawnedChild): void {
    const timer = setInterval(() => {
      if (isAlive(child.pid, child.startTime) && !isZombie(child.pid)) return;
      clearInterval(timer);
      child.onExit({ exitCode: null, lost: true });
    }, this.watchMs);
    timer.unref();
  }

  /** Hold the event loop open through the channel only while replies are awaited. */
  private refresh(): void {
    const channel = this.proc?.channel as { ref?(): void; unref?(): void } | undefined;
    if (this.busy) channel?.ref?.();
    else channel?.unref?.();
  }
}

/** The compiled spawner beside this file; from the sources (tests) the build's copy in dist/. */
export function defaultScript(): string {
  return compiledScript(import.meta.url, 'spawner-main.js');
}

let shared: SpawnerClient | undefined;

/** The one client per process (its spawner started by prestart() or the first file-backed run). */
export function sharedSpawner(): SpawnerClient {
  return (shared ??= new SpawnerClient());
}

/** Replace the shared client (tests: one with their own retry time), closing the old one. */
export function setSharedSpawner(client: SpawnerClient): void {
  if (shared !== client) shared?.close();
  shared = client;
}

/** The service's shutdown, once its runs are stopped: the spawner exits (it also exits when the
 *  service dies). Kept while runs still wait on it (another service in this process). */
export function closeSharedSpawner(): void {
  if (shared && !shared.busy) shared.close();
}
