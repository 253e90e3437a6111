// throughput: N notes dropped at once, MAX_CONCURRENT=8, wall time until all are in Done/; beside
// it, the floor script (floor.mjs) doing only the unavoidable I/O for the same N notes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BASELINE_CLI,
  benchDir,
  CLI,
  cpuSeconds,
  median,
  NOOP_AGENT,
  noteText,
  readAgentLog,
  round,
  rssMb,
  serviceEnv,
  sleep,
  startService,
  verdict,
  waitUntil,
  type BenchDir,
  untilNotes,
  type BenchResult,
} from './common.js';

export interface ThroughputOptions {
  /** Directory for `node --cpu-prof` profiles of the service (one per rep). */
  cpuProfDir?: string;
}

interface Sample {
  seconds: number;
  /** Our CPU: the service's main process plus its spawner and scanner processes (the floor: its one process). */
  cpu: number;
  /** The service's main process alone. */
  serviceCpu: number;
  /** Of `cpu`, the spawner process (the floor: 0; its spawns are in its own figure). */
  spawnerCpu: number;
  scannerCpu: number;
  peakRssMb: number;
}

const HELPERS = ['vaultrunner-spawner', 'vaultrunner-scanner'] as const;
type Helper = (typeof HELPERS)[number];

/** CPU seconds so far of the service's helper processes, by kind, from one walk of /proc (the
 *  spawner forks the agents, the scanner looks for their leftovers; see src/agents/process/spawner/
 *  and src/os/proc-scan/); 0 for one not started yet: it starts with the first run. */
function helperCpu(servicePid: number): Record<Helper, number> {
  const cpu: Record<Helper, number> = { 'vaultrunner-spawner': 0, 'vaultrunner-scanner': 0 };
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== servicePid) continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      const which = HELPERS.find((h) => cmd.startsWith(h));
      if (which) cpu[which] += cpuSeconds(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return cpu;
}

/** Write N notes into a dot-folder of the vault (ignored), ready to be renamed in at once. */
function stage(dir: BenchDir, n: number): string[] {
  const staging = join(dir.vault, '.staging');
  mkdirSync(staging);
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `task-${String(i).padStart(5, '0')}.md`;
    writeFileSync(join(staging, name), noteText(`type: claude_code\ntitle: Throughput task ${i}\npriority: medium`, `Task ${i}.\n\n## Step\n\n- [ ] nothing\n`));
    names.push(name);
  }
  return names;
}

function dropAll(dir: BenchDir, names: string[]): void {
  for (const name of names) renameSync(join(dir.vault, '.staging', name), join(dir.vault, 'Needs_Action', name));
}

/** Wait for Done/ to hold n notes (from its events; see untilNotes), sampling the process's RSS meanwhile. */
async function untilAllDone(dir: BenchDir, n: number, pid: number, t0: number): Promise<{ seconds: number; peakRssMb: number }> {
  let peak = rssMb(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
  try {
    const at = await untilNotes(join(dir.vault, 'Done'), n, 20 * 60_000);
    return { seconds: (at - t0) / 1000, peakRssMb: Math.max(peak, rssMb(pid)) };
  } finally {
    clearInterval(sampler);
  }
}

function checkRuns(dir: BenchDir, n: number, who: string): void {
  const runs = readAgentLog(dir.agentLog);
  const ended = runs.filter((r) => r.end !== undefined).length;
  if (runs.length !== n || ended !== n) throw new Error(`${who}: expected ${n} agent runs, saw ${runs.length} (${ended} ended)`);
}

async function ours(n: number, rep: number, opts: ThroughputOptions, cli = CLI, label = 'service'): Promise<Sample> {
  const dir = benchDir('tput');
  const nodeArgs = [
    ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir, '--cpu-prof-name', `${label}-throughput-${rep}.cpuprofile`] : []),
    // e.g. --perf-basic-prof (JS names in `perf record`), or V8 heap flags to compare.
    ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
  ];
  const svc = startService(dir, serviceEnv(dir, { MAX_CONCURRENT: '8' }), nodeArgs, cli);
  try {
    await svc.ready;
    const names = stage(dir, n);
    await sleep(100);
    const cpu0 = cpuSeconds(svc.pid);
    const helpers0 = helperCpu(svc.pid);
    const t0 = Date.now();
    dropAll(dir, names);
    const r = await untilAllDone(dir, n, svc.pid, t0);
    const serviceCpu = cpuSeconds(svc.pid) - cpu0;
    const helpers = helperCpu(svc.pid);
    const spawnerCpu = helpers['vaultrunner-spawner'] - helpers0['vaultrunner-spawner'];
    const scannerCpu = helpers['vaultrunner-scanner'] - helpers0['vaultrunner-scanner'];
    const cpu = serviceCpu + spawnerCpu + scannerCpu;
    await svc.stop();
    checkRuns(dir, n, 'vaultrunner');
    return { ...r, cpu, serviceCpu, spawnerCpu, scannerCpu };
  } finally {
    await svc.stop();
    dir.cleanup();
  }
}

async function floor(n: number): Promise<Sample> {
  const dir = benchDir('floor');
  const child = spawn(process.execPath, [join(import.meta.dirname, 'floor.mjs'), dir.vault, NOOP_AGENT], { env: { ...process.env, BENCH_LOG: dir.agentLog }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  try {
    await waitUntil(() => out.includes('ready'), 'floor ready', 30_000);
    const names = stage(dir, n);
    await sleep(100);
    const t0 = Date.now();
    dropAll(dir, names);
    child.stdin!.write('go\n');
    const r = await untilAllDone(dir, n, child.pid!, t0);
    await waitUntil(() => out.includes('done'), 'floor exit', 10_000);
    const cpu = Number(/done \d+ ([\d.]+)/.exec(out)?.[1]);
    checkRuns(dir, n, 'floor');
    if (readdirSync(join(dir.vault, 'Needs_Action')).some((f) => f.endsWith('.md'))) throw new Error('floor left notes behind');
    return { ...r, cpu, serviceCpu: cpu, spawnerCpu: 0, scannerCpu: 0 };
  } finally {
    child.kill('SIGKILL');
    dir.cleanup();
  }
}

/** Who runs in which place of rep `rep`: the list turned by one place each rep (a Latin square
 *  over as many reps as contenders), so none always runs first, after the floor, or last. */
export function repOrder<T>(contenders: readonly T[], rep: number): T[] {
  const k = rep % contenders.length;
  return [...contenders.slice(k), ...contenders.slice(0, k)];
}

const summary = (xs: Sample[]) => ({
  seconds: median(xs.map((s) => s.seconds)),
  cpu: median(xs.map((s) => s.cpu)),
  serviceCpu: median(xs.map((s) => s.serviceCpu)),
  spawnerCpu: median(xs.map((s) => s.spawnerCpu)),
  scannerCpu: median(xs.map((s) => s.scannerCpu)),
  peakRssMb: median(xs.map((s) => s.peakRssMb)),
});

/**
 * BENCH_SETTLE: seconds of quiet before each run (default 0). On ext4 without a journal (this
 * machine's disk) every file created walks past each inode deleted in the last 60 s, 360 s while
 * its inode-table block is dirty (`recently_deleted` in ext4's inode allocator), so a run started
 * right after another pays for some of the other's deletions, the removal of its temp vault
 * included. `sync` makes those blocks clean and the wait outlasts the 60 s. Measured in round 19
 * of docs/benchmarks.md: the reps came out flat, the ratios no lower; not worth ~6 minutes a run.
 */
export function settleSeconds(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const s = Number(value);
  if (!Number.isFinite(s) || s < 0 || s > 900) throw new Error(`BENCH_SETTLE must be a number of seconds from 0 to 900, not "${value}"`);
  return s;
}

async function settle(seconds: number): Promise<void> {
  if (seconds <= 0) return;
  spawnSync('sync', [], { stdio: 'ignore' });
  await sleep(seconds * 1000);
}

/** BENCH_REPS: how many reps (default 3); more narrows the medians on a noisy host. */
export function benchReps(value: string | undefined): number {
  if (value === undefined || value === '') return 3;
  const reps = Number(value);
  if (!Number.isInteger(reps) || reps < 1 || reps > 50) throw new Error(`BENCH_REPS must be a whole number from 1 to 50, not "${value}"`);
  return reps;
}

export async function runThroughput(quick: boolean, opts: ThroughputOptions = {}): Promise<BenchResult> {
  const n = quick ? 120 : 1000;
  const reps = benchReps(process.env.BENCH_REPS);
  const settleS = settleSeconds(process.env.BENCH_SETTLE);
  const a: Sample[] = [];
  const b: Sample[] = [];
  const base: Sample[] = [];
  type Who = 'ours' | 'floor' | 'baseline';
  const run: Record<Who, (rep: number) => Promise<void>> = {
    ours: async (rep) => void a.push(await ours(n, rep, opts)),
    floor: async () => void b.push(await floor(n)),
    baseline: async (rep) => void base.push(await ours(n, rep, opts, BASELINE_CLI, 'baseline')),
  };
  const contenders: Who[] = BASELINE_CLI ? ['ours', 'baseline', 'floor'] : ['ours', 'floor'];
  for (let rep = 0; rep < reps; rep++) {
    // Turn the order each rep, so drift (page cache, thermal, the inodes a run before freed) hits all alike.
    const order = repOrder(contenders, rep);
    for (const who of order) {
      await settle(settleS);
      await run[who](rep);
    }
    const baseNote = BASELINE_CLI ? `, baseline ${round(base.at(-1)!.seconds, 2)} s` : '';
    const [last, lastFloor] = [a.at(-1)!, b.at(-1)!];
    process.stderr.write(`  rep ${rep + 1}/${reps} (${order.join(', ')}): ours ${round(last.seconds, 2)} s ${round(last.cpu, 1)} CPU-s${baseNote}, floor ${round(lastFloor.seconds, 2)} s ${round(lastFloor.cpu, 1)} CPU-s\n`);
  }
  const o = summary(a);
  const { seconds: oursS, cpu: oursCpu, serviceCpu, spawnerCpu, scannerCpu } = o;
  const { seconds: floorS, cpu: floorCpu } = summary(b);
  const ratio = round(oursS / floorS, 2);
  // Each rep's ours over its floor: the two ran next to each other, free of drift between reps.
  const wallPairs = a.map((s, i) => s.seconds / b[i]!.seconds);
  const cpuPairs = a.map((s, i) => s.cpu / b[i]!.cpu);
  const bs = BASELINE_CLI ? summary(base) : undefined;
  return {
    name: 'throughput',
    figures: {
      n,
      reps,
      settleSeconds: settleS,
      maxConcurrent: 8,
      oursSeconds: round(oursS, 2),
      floorSeconds: round(floorS, 2),
      oursTasksPerSec: round(n / oursS, 1),
      floorTasksPerSec: round(n / floorS, 1),
      ratio,
      perRepRatios: wallPairs.map((r) => round(r, 2)),
      perRepCpuRatios: cpuPairs.map((r) => round(r, 2)),
      perRepServiceCpuRatios: a.map((s, i) => round(s.serviceCpu / b[i]!.cpu, 2)),
      medianPerRepCpuRatio: round(median(cpuPairs), 2),
      // Ours = the service's main process + its spawner and scanner processes (all our cost).
      oursCpuSeconds: round(oursCpu, 1),
      serviceCpuSeconds: round(serviceCpu, 1),
      spawnerCpuSeconds: round(spawnerCpu, 1),
      scannerCpuSeconds: round(scannerCpu, 1),
      floorCpuSeconds: round(floorCpu, 1),
      oursPeakRssMb: round(o.peakRssMb),
      cpuRatio: round(oursCpu / floorCpu, 2),
      serviceCpuRatio: round(serviceCpu / floorCpu, 2),
      target: { ratio: 1.15, cpuRatio: 2 },
      ...(bs
        ? {
            baseline: {
              cli: BASELINE_CLI,
              seconds: round(bs.seconds, 2),
              ratio: round(bs.seconds / floorS, 2),
              perRepRatios: base.map((s, i) => round(s.seconds / b[i]!.seconds, 2)),
              cpuSeconds: round(bs.cpu, 1),
              serviceCpuSeconds: round(bs.serviceCpu, 1),
              cpuRatio: round(bs.cpu / floorCpu, 2),
              serviceCpuRatio: round(bs.serviceCpu / floorCpu, 2),
              peakRssMb: round(bs.peakRssMb),
            },
          }
        : {}),
    },
    rows: [
      [`${n} notes at once, MAX_CONCURRENT=8: wall (median of ${reps}${settleS > 0 ? `, each run after sync and ${settleS} s of quiet` : ''})`, `${round(oursS, 2)} s`, '', ''],
      ['tasks/s', `${round(n / oursS, 1)}`, '', ''],
      ['floor (plain Node, same I/O, same agent) wall / tasks/s', `${round(floorS, 2)} s / ${round(n / floorS, 1)}`, '', ''],
      ['ours / floor', `${ratio}`, '≤ 1.15', verdict(ratio <= 1.15)],
      ['service CPU / floor CPU (s, main process only)', `${round(serviceCpu, 1)} / ${round(floorCpu, 1)} = ${round(serviceCpu / floorCpu, 2)}×`, '', ''],
      ['service + spawner + scanner CPU / floor CPU (s)', `${round(oursCpu, 1)} / ${round(floorCpu, 1)} = ${round(oursCpu / floorCpu, 2)}×`, '≤ 2×', verdict(oursCpu / floorCpu <= 2)],
      ['per rep: wall / all three CPU, ours ÷ floor', `${wallPairs.map((w, i) => `${round(w, 2)} / ${round(cpuPairs[i]!, 2)}×`).join(', ')} (CPU median ${round(median(cpuPairs), 2)}×)`, '', ''],
      // The spawner's share is mostly fork and exec, which the floor pays in its own process.
      ['of which the spawner / the scanner (s)', `${round(spawnerCpu, 1)} / ${round(scannerCpu, 1)}`, '', ''],
      ['service peak RSS', `${round(o.peakRssMb)} MB`, '', ''],
      ...(bs
        ? ([
            [`baseline (${BASELINE_CLI}): wall / vs floor`, `${round(bs.seconds, 2)} s / ${round(bs.seconds / floorS, 2)}`, '', ''],
            ['baseline service CPU / all three (s)', `${round(bs.serviceCpu, 1)} / ${round(bs.cpu, 1)}`, '', ''],
            ['ours vs baseline: wall / service CPU / all three', `${round(oursS / bs.seconds, 2)} / ${round(serviceCpu / bs.serviceCpu, 2)} / ${round(oursCpu / bs.cpu, 2)}`, '', ''],
          ] as [string, string, string, string][])
        : []),
    ],
  };
}
