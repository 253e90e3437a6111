// One coordinator (an in-process RemoteDispatcher over a real LeaseStore) and real worker child
// processes against a real redis-server, with a bare git remote in a temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileCursorStore } from '../../../src/queue/file-cursor-store.js';
import type { RunJobInput } from '../../../src/queue/job.js';
import { leaseCheck } from '../../../src/queue/lease-check.js';
import type { QueueLogger } from '../../../src/queue/ports.js';
import { RemoteDispatcher } from '../../../src/queue/remote-dispatcher.js';
import { LeaseStore } from '../../../src/vault/lease-store.js';
import { cleanEnv } from '../../helpers/cli-process.js';
import { startRedis, type TestRedis } from './redis-server.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export interface LogLine {
  level: string;
  obj: object;
  msg: string;
}

export class CaptureLogger implements QueueLogger {
  readonly lines: LogLine[] = [];
  private waiters: Array<{ re: RegExp; resolve: (l: LogLine) => void }> = [];
  private add(level: string, obj: object, msg = '') {
    const line = { level, obj, msg };
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => (w.re.test(msg) ? (w.resolve(line), false) : true));
  }
  debug = (obj: object, msg?: string) => this.add('debug', obj, msg);
  info = (obj: object, msg?: string) => this.add('info', obj, msg);
  warn = (obj: object, msg?: string) => this.add('warn', obj, msg);
  error = (obj: object, msg?: string) => this.add('error', obj, msg);
  /** Resolves with the first line (already logged or to come) whose message matches. */
  waitFor(re: RegExp): Promise<LogLine> {
    const hit = this.lines.find((l) => re.test(l.msg));
    return hit ? Promise.resolve(hit) : new Promise((resolve) => this.waiters.push({ re, resolve }));
  }
  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l.msg)).length;
  }
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  /** Resolves when the worker's output matches. */
  waitFor(re: RegExp): Promise<void>;
  exited: Promise<void>;
}

export interface AgentLogEntry {
  kind: 'start' | 'tick' | 'end';
  task: string;
  pid: number;
  at: number;
  resume: string;
  worker: string;
}

export class QueueHarness {
  readonly logger = new CaptureLogger();
  readonly workers: WorkerProcess[] = [];
  leases!: LeaseStore;
  dispatcher!: RemoteDispatcher;
  redis!: TestRedis;
  root!: string;
  remote!: string;
  baseCommit!: string;
  sharedLog!: string;

  static async create(): Promise<QueueHarness> {
    const h = new QueueHarness();
    h.redis = await startRedis();
    h.root = await mkdtemp(join(tmpdir(), 'vr-queue-'));
    h.sharedLog = join(h.root, 'agents.log');
    writeFileSync(h.sharedLog, '');
    h.remote = join(h.root, 'remote.git');
    const seed = join(h.root, 'seed');
    git(h.root, 'init', '--quiet', '--bare', '--initial-branch=main', h.remote);
    git(h.root, 'init', '--quiet', '--initial-branch=main', seed);
    writeFileSync(join(seed, 'README.md'), '# test repo\n');
    git(seed, 'add', '-A');
    git(seed, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'seed');
    git(seed, 'push', '--quiet', h.remote, 'main');
    h.baseCommit = git(seed, 'rev-parse', 'HEAD');
    h.leases = new LeaseStore(join(h.root, 'leases'), 60_000);
    h.dispatcher = new RemoteDispatcher({
      url: h.redis.url,
      logger: h.logger,
      leases: leaseCheck(h.leases),
      cursors: createFileCursorStore(join(h.root, 'cursors')),
      blockMs: 200,
      statePollMs: 500,
    });
    return h;
  }

  spawnWorker(name: string, env: Record<string, string> = {}, args: string[] = []): WorkerProcess {
    const workdir = join(this.root, `work-${name}`);
    const child = spawn(process.execPath, [join(FIXTURES, 'worker-cli.mjs'), '--queue', this.redis.url, '--workdir', workdir, '--agents', 'scripted', ...args], {
      cwd: this.root,
      env: {
        ...cleanEnv(),
        COMMAND_AGENTS: JSON.stringify({ scripted: [process.execPath, join(FIXTURES, 'scripted-agent.mjs')] }),
        PERMISSION_MODE: 'acceptEdits',
        KILL_GRACE: '1s',
        WORKER_LOCK_TTL: '2s',
        WORKER_STALL_CHECK: '500ms',
        GATES: JSON.stringify({ has_file: [process.execPath, '-e', 'process.exit(require("fs").readdirSync(".").some((f) => f.endsWith(".txt")) ? 0 : 1)'] }),
        SHARED_LOG: this.sharedLog,
        WORKER_NAME: name,
        GIT_CONFIG_NOSYSTEM: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    let out = '';
    const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
    const onData = (d: Buffer) => {
      out += String(d);
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.re.test(out)) waiters.splice(i, 1)[0]!.resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const w: WorkerProcess = {
      name,
      child,
      output: () => out,
      waitFor: (re) =>
        re.test(out)
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              waiters.push({ re, resolve });
              void exited.then(() => reject(new Error(`worker ${name} exited before ${re}:\n${out}`)));
            }),
      exited,
    };
    this.workers.push(w);
    return w;
  }

  /** A claimed run: a real lease, then the job the coordinator would send. */
  async claim(taskId: string, spec: { sleepMs?: number; file?: string; fail?: boolean }, extra: Partial<RunJobInput> = {}): Promise<RunJobInput> {
    const lease = await this.leases.acquire(taskId, 1);
    if (!lease) throw new Error(`lease for ${taskId} is held`);
    return {
      v: 1,
      taskId,
      attempt: 1,
      leaseToken: lease.token,
      agent: 'scripted',
      permissionMode: 'acceptEdits',
      prompt: JSON.stringify(spec),
      timeoutMs: 60_000,
      repoUrl: this.remote,
      baseCommit: this.baseCommit,
      branch: `vr/${taskId}`,
      gates: [],
      ...extra,
    };
  }

  agentLog(): AgentLogEntry[] {
    return readFileSync(this.sharedLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [kind, task, pid, at, resume, worker] = l.split(' ');
        return { kind: kind as AgentLogEntry['kind'], task: task!, pid: Number(pid), at: Number(at), resume: resume!, worker: worker! };
      });
  }

  /** Resolves once the agents' shared log has a line matching `pred` (polled: the log is a plain file). */
  async waitForAgent(pred: (e: AgentLogEntry) => boolean, timeoutMs = 20_000): Promise<AgentLogEntry> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.agentLog().find(pred);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`no agent log line matched within ${timeoutMs} ms:\n${readFileSync(this.sharedLog, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  remoteBranches(): Map<string, string> {
    const out = git(this.root, 'ls-remote', '--heads', this.remote);
    return new Map(out.split('\n').filter(Boolean).map((l) => { const [sha, ref] = l.split('\t'); return [ref!.replace('refs/heads/', ''), sha!]; }));
  }

  showFile(branch: string, path: string): string {
    return git(this.root, '--git-dir', this.remote, 'show', `${branch}:${path}`);
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        w.child.kill('SIGTERM');
        const t = setTimeout(() => w.child.kill('SIGKILL'), 8000);
        await w.exited;
        clearTimeout(t);
      }),
    );
    await this.dispatcher?.close().catch(() => undefined);
    await this.redis?.dispose();
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Poll a fact (a process gone, a file line) until it holds. */
export async function until(fact: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fact()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
