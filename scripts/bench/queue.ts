// queue: remote workers (QUEUE_URL) on a real redis-server, with the no-op agent.
// - dispatch overhead: a run through the queue (RemoteDispatcher → BullMQ → a RemoteWorker →
//   spawn, then the outcome back over the run's stream) against the same agent spawned locally,
//   alternated rep by rep; the worker's workspace is a plain folder, so the figure is the queue's
//   own cost, not git's. Target: ≤ 50 ms added at the median, start and round trip.
// - throughput: N runs through real `vaultrunner worker` processes (git clone/worktree/commit/push
//   on a bare remote, as in production) with two workers against one. Target: two ≥ 1.5× one
//   (only where the machine has the cores for it: every run is git and node processes).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommandAgent } from '../../src/agents/command-agent.js';
import { AgentRegistry } from '../../src/agents/registry.js';
import { createFileCursorStore } from '../../src/queue/file-cursor-store.js';
import type { RunJobInput } from '../../src/queue/job.js';
import type { QueueLogger, WorkspacePort } from '../../src/queue/ports.js';
import { RemoteDispatcher } from '../../src/queue/remote-dispatcher.js';
import { RemoteWorker } from '../../src/queue/worker.js';
import { freePort, REDIS_BIN } from '../../test/queue/helpers/redis-server.js';
import { busyShare, CLI, machineTicks, median, NOOP_AGENT, percentile, readAgentLog, round, verdict, type BenchResult } from './common.js';

const quiet: QueueLogger = { debug() {}, info() {}, warn() {}, error() {} };

// Its own redis (not the tests' startRedis): the default fsync policy, as a production setup would run.
async function startRedis(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(REDIS_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--logfile', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const job = (taskId: string, leaseToken: string, repoUrl: string, baseCommit: string): RunJobInput => ({
  v: 1,
  taskId,
  attempt: 1,
  leaseToken,
  agent: 'noop',
  permissionMode: 'acceptEdits',
  prompt: 'Do nothing, quickly.\n',
  timeoutMs: 60_000,
  repoUrl,
  baseCommit,
  branch: `vr/${taskId}`,
  gates: [],
});

/**
 * How much a second stream of process starts gains on this machine: two copies of spawn-loop.mjs
 * at once against one alone (2 = perfect). A git run is mostly process starts (git, the agent),
 * and on this VM they contend in the kernel even where pure computation scales perfectly.
 */
async function spawnScaling(rounds: number): Promise<number> {
  const loop = join(import.meta.dirname, 'spawn-loop.mjs');
  const copies = async (n: number) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => new Promise((r) => spawn(process.execPath, [loop, String(rounds)], { stdio: 'ignore' }).once('exit', r))));
    return performance.now() - t0;
  };
  const alone: number[] = [];
  const both: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    alone.push(await copies(1));
    both.push(await copies(2));
  }
  return round((2 * median(alone)) / median(both), 2);
}

export async function runQueue(quick: boolean): Promise<BenchResult> {
  if (spawnSync(REDIS_BIN, ['--version']).status !== 0) {
    return { name: 'queue', figures: { skipped: 1 }, rows: [['queue: redis-server not installed', 'skipped', '', '']] };
  }
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-bench-queue-')));
  const redisDir = join(root, 'redis');
  mkdirSync(redisDir);
  const redis = await startRedis(redisDir);
  const children: ChildProcess[] = [];
  try {
    // ---- dispatch overhead: the queue path vs a local spawn, same agent, alternated ----
    const reps = quick ? 10 : 30;
    const agentLog = join(root, 'agent.log');
    writeFileSync(agentLog, '');
    const agent = createCommandAgent({ name: 'noop', argv: [process.execPath, NOOP_AGENT], idleTimeoutMs: 60_000 });
    const env = { ...process.env, BENCH_LOG: agentLog };
    const plain = join(root, 'plain');
    mkdirSync(plain);
    const folderOnly: WorkspacePort = {
      prepare: async () => ({ cwd: plain, branch: 'x', startCommit: '0'.repeat(40) }),
      handBack: async () => ({ pushed: true, headCommit: '0'.repeat(40) }),
      cleanup: async () => {},
    };
    const worker = new RemoteWorker({ url: redis.url, logger: quiet, agents: new AgentRegistry([agent]), concurrency: 1, permissionCeiling: 'acceptEdits', maxTimeoutMs: 60_000, killGraceMs: 1000, env, workspace: folderOnly, gates: { known: () => [], run: async () => [] }, controlPollMs: 500 });
    worker.start();
    const dispatcher = new RemoteDispatcher({ url: redis.url, logger: quiet, leases: { isCurrent: async () => true }, cursors: createFileCursorStore(join(root, 'cursors')), blockMs: 1000 });
    const startOf = (task: string) => readAgentLog(agentLog).find((r) => r.task === task)?.processStart;
    const local = { start: [] as number[], trip: [] as number[] };
    const remote = { start: [] as number[], trip: [] as number[] };
    try {
      for (let r = -2; r < reps; r++) {
        // two warm-up reps (JIT, BullMQ's scripts loaded into Redis) are not counted
        let t0 = Date.now();
        const run = agent.start({ taskId: `local-${r}`, attempt: 1, prompt: 'Do nothing, quickly.\n', cwd: plain, permissionMode: 'acceptEdits', env });
        const lo = await run.outcome;
        if (!lo.ok) throw new Error(`local run failed: ${lo.error.message}`);
        const localTrip = Date.now() - t0;
        const localStart = (startOf(`local-${r}`) ?? NaN) - t0;
        t0 = Date.now();
        const rr = dispatcher.dispatch(job(`remote-${r}`, `tok${r + 2}abcd`, plain, 'a'.repeat(40)));
        const ro = await rr.outcome;
        if (!ro.ok) throw new Error(`remote run failed: ${ro.error.message}`);
        const remoteTrip = Date.now() - t0;
        const remoteStart = (startOf(`remote-${r}`) ?? NaN) - t0;
        if (r >= 0) {
          local.trip.push(localTrip);
          local.start.push(localStart);
          remote.trip.push(remoteTrip);
          remote.start.push(remoteStart);
        }
      }
    } finally {
      await worker.close(2000);
      await dispatcher.close();
    }
    const addedStart = round(median(remote.start) - median(local.start), 0);
    const addedTrip = round(median(remote.trip) - median(local.trip), 0);

    // ---- throughput: real worker processes, real git, one vs two ----
    const runs = quick ? 12 : 30;
    const bare = join(root, 'remote.git');
    const seed = join(root, 'seed');
    git(root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
    git(root, 'init', '--quiet', '--initial-branch=main', seed);
    writeFileSync(join(seed, 'README.md'), '# bench\n');
    git(seed, 'add', '-A');
    git(seed, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '--quiet', '-m', 'seed');
    git(seed, 'push', '--quiet', bare, 'main');
    const base = git(seed, 'rev-parse', 'HEAD');
    const spawnWorker = (name: string, prefix: string) => {
      const child = spawn(process.execPath, [CLI, 'worker', '--queue', redis.url, '--agents', 'noop', '--workdir', join(root, `work-${prefix}-${name}`)], {
        cwd: root,
        env: { ...process.env, QUEUE_PREFIX: prefix, COMMAND_AGENTS: JSON.stringify({ noop: [process.execPath, NOOP_AGENT] }), BENCH_LOG: join(root, 'tp.log'), LOG_LEVEL: 'info', GIT_CONFIG_NOSYSTEM: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      return new Promise<ChildProcess>((resolve, reject) => {
        let out = '';
        const on = (d: Buffer) => {
          out += String(d);
          if (/takes noop runs/.test(out)) resolve(child);
        };
        child.stdout!.on('data', on);
        child.stderr!.on('data', on);
        child.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${out}`)));
      });
    };
    // How busy the whole machine was in each round: a second worker can add at most what one left idle.
    const busy: Record<number, number> = {};
    const throughput = async (workers: number): Promise<number> => {
      const prefix = `tp${workers}`; // fresh queues and branches per round
      const ws = await Promise.all(Array.from({ length: workers }, (_, i) => spawnWorker(`w${i}`, prefix)));
      const d = new RemoteDispatcher({ url: redis.url, prefix, logger: quiet, leases: { isCurrent: async () => true }, cursors: createFileCursorStore(join(root, `cursors-${prefix}`)), blockMs: 1000 });
      const t0 = Date.now();
      const ticks0 = machineTicks();
      const outs = await Promise.all(Array.from({ length: runs }, (_, i) => d.dispatch(job(`${prefix}-${i}`, `tok${i}abcd`, bare, base)).outcome));
      const secs = (Date.now() - t0) / 1000;
      busy[workers] = busyShare(ticks0, machineTicks());
      await d.close();
      for (const w of ws) w.kill('SIGTERM');
      await Promise.all(ws.map((w) => new Promise((r) => (w.exitCode !== null ? r(0) : w.once('exit', r)))));
      const bad = outs.filter((o) => !o.ok || !o.remote?.pushed);
      if (bad.length) throw new Error(`${bad.length} throughput runs failed: ${JSON.stringify(bad[0])}`);
      return runs / secs;
    };
    const one = await throughput(1);
    const two = await throughput(2);
    const ratio = round(two / one, 2);
    const machine = await spawnScaling(quick ? 8 : 15);
    const cores = cpus().length;
    return {
      name: 'queue',
      figures: {
        reps,
        localStartMs: round(median(local.start), 0),
        remoteStartMs: round(median(remote.start), 0),
        addedStartMs: addedStart,
        localRoundTripMs: round(median(local.trip), 0),
        remoteRoundTripMs: round(median(remote.trip), 0),
        addedRoundTripMs: addedTrip,
        remoteRoundTripP90Ms: round(percentile(remote.trip, 0.9), 0),
        runs,
        oneWorkerRunsPerSec: round(one, 2),
        twoWorkersRunsPerSec: round(two, 2),
        twoVsOne: ratio,
        machineSpawnScaling: machine,
        machineBusyOneWorker: round(busy[1]!, 2),
        machineBusyTwoWorkers: round(busy[2]!, 2),
        cores,
      },
      rows: [
        ['dispatch → agent start: local vs queue (median ms)', `${round(median(local.start), 0)} vs ${round(median(remote.start), 0)}`, '', ''],
        ['added by the queue at start (median ms)', String(addedStart), '≤ 50', verdict(addedStart <= 50)],
        ['start → outcome back: local vs queue (median ms)', `${round(median(local.trip), 0)} vs ${round(median(remote.trip), 0)}`, '', ''],
        ['added by the queue, round trip (median ms)', String(addedTrip), '≤ 50', verdict(addedTrip <= 50)],
        [`throughput, ${runs} git runs: 1 worker vs 2 (runs/s)`, `${round(one, 2)} vs ${round(two, 2)}`, '', ''],
        [`two workers vs one (${cores} cores)`, String(ratio), '≥ 1.5', verdict(ratio >= 1.5)],
        ['floor: the machine, two streams of process starts vs one (node, git)', String(machine), '', ''],
        // With one worker busy at b, the machine has room for at most 1/b of that throughput.
        ['machine CPU busy: one worker / two (the most two can add is 1 / one\'s share)', `${Math.round(busy[1]! * 100)} % / ${Math.round(busy[2]! * 100)} %`, '', ''],
      ],
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    redis.child.kill('SIGTERM');
    await new Promise((r) => (redis.child.exitCode !== null ? r(0) : redis.child.once('exit', r)));
    rmSync(root, { recursive: true, force: true });
  }
}
