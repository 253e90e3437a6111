// scale: a vault with many done notes and many paused (indexed, never run) notes: time to ready,
// RSS after ready, CPU while idle, and pickup at that size against an empty vault, side by side.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  benchDir,
  cpuSeconds,
  logLine,
  median,
  noteText,
  round,
  rssMb,
  serviceEnv,
  sleep,
  startService,
  waitQuiet,
  verdict,
  type BenchDir,
  type BenchResult,
} from './common.js';
import { measurePickup, summarise } from './pickup.js';

function doneNote(i: number): string {
  return noteText(
    [
      'type: claude_code',
      `title: Finished task number ${i}`,
      'priority: medium',
      'status: done',
      `plan: "[[PLAN_done-${i}]]"`,
      'attempts: 1',
      'started_at: 2026-11-01T10:00:00',
      'finished_at: 2026-11-01T10:01:00',
      `run_log: "[[Logs/runs/done-${i}/attempt-1]]"`,
      'tags: [bench]',
    ].join('\n'),
    `Did task ${i}.\n\n## Acceptance criteria\n\n- [x] It is done\n`,
  );
}

/** Fill the vault: `done` notes in Done/, `paused` notes in Needs_Action/. */
function populate(dir: BenchDir, done: number, paused: number): void {
  for (let i = 0; i < done; i++) writeFileSync(join(dir.vault, 'Done', `done-${i}.md`), doneNote(i));
  for (let i = 0; i < paused; i++) {
    writeFileSync(join(dir.vault, 'Needs_Action', `paused-${i}.md`), noteText(`type: claude_code\nstatus: paused\ntitle: Held task ${i}\npriority: low`, `Held ${i}.\n`));
  }
}

interface Rep {
  readyMs: number;
  settleMs: number;
  rssMb: number;
  idleCpuPct: number;
  pickupP50: number;
  idleSeconds: number;
}

export async function runScale(quick: boolean): Promise<BenchResult> {
  const done = quick ? 10_000 : 100_000;
  const paused = quick ? 500 : 5_000;
  // Idle CPU: the full run's first start stays up 10 minutes (ten of the once-a-minute
  // reconciles); the others and the quick run use a short window.
  const idleS = quick ? 5 : 30;
  const longIdleS = quick ? idleS : 600;
  const pickups = quick ? 6 : 15;
  const reps = 3;
  const dir = benchDir('scale');
  const empty = benchDir('scale-empty');
  const t = Date.now();
  populate(dir, done, paused);
  process.stderr.write(`  wrote ${done} + ${paused} notes in ${round((Date.now() - t) / 1000)} s\n`);
  const out: Rep[] = [];
  const emptyP50: number[] = [];
  let notQuiet = 0;
  // The empty-vault service runs beside the big one for the whole benchmark, for the side-by-side
  // pickup ratio; idle, each costs the other nothing.
  const svc2 = startService(empty, serviceEnv(empty));
  try {
    await svc2.ready;
    for (let rep = 0; rep < reps; rep++) {
      const spawnedAt = Date.now();
      const svc = startService(dir, serviceEnv(dir));
      try {
        await svc.ready;
        // The service's own timestamp of its "started" line, from its JSON log.
        const started = logLine(dir.vault, 'vaultrunner started', `"pid":${svc.pid},`)?.time;
        const readyMs = (typeof started === 'number' ? started : Date.now()) - spawnedAt;
        const settled = await waitQuiet(svc.pid); // the post-start reconcile and first dashboard
        const settleMs = settled.ms;
        if (!settled.quiet) process.stderr.write(`  warning: the service never went quiet within ${settleMs} ms; the idle figure below includes that work\n`);
        notQuiet += settled.quiet ? 0 : 1;
        const rss = rssMb(svc.pid);
        const c0 = cpuSeconds(svc.pid);
        const idleStart = Date.now();
        // Meanwhile the empty-vault pickups: another vault and process, so they add nothing to this
        // service's CPU counters (and this one, idle, takes no CPU from them).
        emptyP50.push(summarise(await measurePickup(empty, pickups, `empty${rep}`)).p50);
        await sleep((rep === 0 ? longIdleS : idleS) * 1000 - (Date.now() - idleStart));
        const idleCpuPct = ((cpuSeconds(svc.pid) - c0) / ((Date.now() - idleStart) / 1000)) * 100;
        const p = summarise(await measurePickup(dir, pickups, `scale${rep}`));
        out.push({ readyMs, settleMs, rssMb: rss, idleCpuPct, pickupP50: p.p50, idleSeconds: Math.round((Date.now() - idleStart) / 1000) });
        process.stderr.write(`  rep ${rep + 1}/${reps}: ready ${readyMs} ms (+${settleMs} ms to quiet), RSS ${round(rss)} MB, idle CPU ${round(idleCpuPct, 2)} %, pickup p50 ${p.p50} ms (empty vault ${emptyP50.at(-1)} ms)\n`);
      } finally {
        await svc.stop();
      }
    }
  } finally {
    await svc2.stop();
    dir.cleanup();
    empty.cleanup();
  }
  const m = (k: keyof Rep) => median(out.map((r) => r[k]));
  const ratio = round(m('pickupP50') / median(emptyP50), 2);
  // The full run's idle figure is its 10-minute window (rep 1); the quick run's the median of three.
  const idle = quick ? round(m('idleCpuPct'), 2) : round(out[0]!.idleCpuPct, 2);
  const idleWindowS = quick ? idleS : out[0]!.idleSeconds;
  const f = { readyMs: round(m('readyMs'), 0), settleMs: round(m('settleMs'), 0), rssMb: round(m('rssMb')), idleCpuPct: idle, pickupP50: round(m('pickupP50')), emptyPickupP50: round(median(emptyP50)) };
  return {
    name: 'scale',
    figures: { done, paused, reps, idleSeconds: idleWindowS, ...f, notQuietReps: notQuiet, pickupRatio: ratio, targets: { readyMs: 2_000, rssMb: 100, idleCpuPct: 0.1, pickupRatio: 1.5 } },
    rows: [
      [`${done} notes in Done/, ${paused} paused in Needs_Action/: start → ready`, `${f.readyMs} ms`, '≤ 2 s', verdict(f.readyMs <= 2_000)],
      ['then until its CPU is quiet (post-start reconcile, first dashboard)', `${f.settleMs} ms`, '', ''],
      ['RSS after ready', `${f.rssMb} MB`, '≤ 100 MB', verdict(f.rssMb <= 100)],
      [`CPU while idle (${idleWindowS} s${quick ? ', median of 3' : ''}, ${notQuiet ? `${notQuiet} of ${reps} reps never went quiet` : 'once quiet'})`, `${f.idleCpuPct} %`, '≤ 0.1 %', verdict(f.idleCpuPct <= 0.1)],
      [`pickup p50 at this size / empty vault (n=${pickups} per rep)`, `${f.pickupP50} / ${f.emptyPickupP50} ms = ${ratio}×`, '≤ 1.5×', verdict(ratio <= 1.5)],
    ],
  };
}

