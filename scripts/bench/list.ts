// list: wall time and peak RSS of `vaultrunner list` (the real CLI, a child process) on vaults of
// 2,000 and 20,000 active notes, against a floor (list-floor.mjs) that only reads every note and
// prints its name, alternated rep by rep in the same run. Peak RSS is the child's VmHWM, read
// from /proc while it runs (wait4's rusage is not exposed to Node).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateFileName } from '../../src/vault/state-key.js';
import { benchDir, CLI, median, noteText, round, serviceEnv, verdict, type BenchResult } from './common.js';

const FLOOR = join(import.meta.dirname, 'list-floor.mjs');
const STATUSES = ['new', 'new', 'planned', 'planned', 'executing', 'paused', 'failed', 'awaiting_review', 'draft', 'planned'];

/** A realistic task note: quoting, lists, links, dependencies on a neighbour, a 1-2 KB body. */
export function note(i: number, n: number): string {
  const status = STATUSES[i % STATUSES.length]!;
  const fm = [
    'type: claude_code',
    `title: "Fix issue #${i}: the login redirect"`,
    `priority: ${['urgent', 'high', 'medium', 'low'][i % 4]}`,
    `created: 2026-11-${String((i % 28) + 1).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}`,
    `status: ${status}`,
    ...(status !== 'new' && status !== 'draft' ? [`plan: "[[PLAN_task-${i}]]"`, `attempts: ${i % 3}`] : []),
    ...(i % 5 === 0 ? ['blocked_by:', `  - "[[task-${(i + 1) % n}]]"`, '  - setup'] : []),
    ...(status === 'failed' ? ['error: "agent exited with code 1"'] : []),
    'requires_review: false',
    'timeout: 10m',
    'tags: [bench, list]',
  ].join('\n');
  const body = `The login page sends people to / instead of where they came from (${i}).\n\n## Steps\n\n${'- [ ] Do a thing that matters here\n'.repeat(20)}\n## Notes\n\n${'Some prose. '.repeat(60)}\n`;
  return noteText(fm, body);
}

interface Run {
  wallMs: number;
  peakMb: number;
  lines: number;
}

/** Run a node script as a child; wall time from spawn to exit, peak RSS (VmHWM) polled from /proc. */
function timed(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let peakKb = 0;
    let out = '';
    let err = '';
    const poll = () => {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* gone */
      }
    };
    const timer = setInterval(poll, 2);
    child.stdout.on('data', (d: Buffer) => {
      poll(); // the high-water mark only grows: the last reading before exit is the peak
      out += String(d);
    });
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.on('error', reject);
    child.on('exit', () => poll());
    child.on('close', (code) => {
      clearInterval(timer);
      const wallMs = performance.now() - t;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1000)}`));
      resolve({ wallMs, peakMb: peakKb / 1024, lines: out.trimEnd().split('\n').length });
    });
  });
}

async function atSize(n: number, reps: number): Promise<{ n: number; ours: Run; floor: Run }> {
  const dir = benchDir(`list-${n}`);
  try {
    mkdirSync(join(dir.vault, '.vaultrunner', 'tasks'), { recursive: true });
    for (let i = 0; i < n; i++) {
      const folder = i % 50 === 7 ? 'Pending_Approval' : 'Needs_Action';
      writeFileSync(join(dir.vault, folder, `task-${i}.md`), note(i, n));
    }
    writeFileSync(join(dir.vault, 'Done', 'setup.md'), noteText('type: claude_code\nstatus: done'));
    // Some tasks carry machine state (a retry backoff), as after failures, written as the service
    // writes it (the file names its task).
    for (let i = 6; i < n; i += 10) writeFileSync(join(dir.vault, '.vaultrunner', 'tasks', stateFileName(`task-${i}`)), JSON.stringify({ task: `task-${i}`, failures: 1, notBefore: Date.now() + 3_600_000 }));
    const env = serviceEnv(dir);
    const ours: Run[] = [];
    const floor: Run[] = [];
    await timed([FLOOR, dir.vault], env); // warm the page cache
    for (let r = 0; r < reps; r++) {
      floor.push(await timed([FLOOR, dir.vault], env));
      ours.push(await timed([CLI, 'list', '--vault', dir.vault], env));
    }
    if (ours[0]!.lines !== n + 1) throw new Error(`list printed ${ours[0]!.lines} lines for ${n} notes`);
    const med = (rs: Run[]): Run => ({ wallMs: median(rs.map((x) => x.wallMs)), peakMb: median(rs.map((x) => x.peakMb)), lines: rs[0]!.lines });
    return { n, ours: med(ours), floor: med(floor) };
  } finally {
    dir.cleanup();
  }
}

export async function runList(quick: boolean): Promise<BenchResult> {
  const sizes = quick ? [2000] : [2000, 20000];
  const figures: Record<string, unknown> = {};
  const rows: BenchResult['rows'] = [];
  for (const n of sizes) {
    const m = await atSize(n, n > 5000 ? 3 : quick ? 3 : 5);
    const ratio = round(m.ours.wallMs / m.floor.wallMs, 2);
    Object.assign(figures, {
      [`wallMs${n}`]: round(m.ours.wallMs, 0),
      [`floorMs${n}`]: round(m.floor.wallMs, 0),
      [`ratio${n}`]: ratio,
      [`peakMb${n}`]: round(m.ours.peakMb, 1),
      [`floorPeakMb${n}`]: round(m.floor.peakMb, 1),
    });
    const gate = n === 2000;
    rows.push(
      [`vaultrunner list, ${n} active notes (median wall)`, `${round(m.ours.wallMs, 0)} ms`, '', ''],
      [`floor: read every note, print its name`, `${round(m.floor.wallMs, 0)} ms`, '', ''],
      [`list / floor wall`, `${ratio}×`, gate ? '≤ 2×' : '', gate ? verdict(ratio <= 2) : ''],
      [`list peak RSS (floor ${round(m.floor.peakMb, 1)} MB)`, `${round(m.ours.peakMb, 1)} MB`, gate ? '≤ 80 MB' : '', gate ? verdict(m.ours.peakMb <= 80) : ''],
    );
  }
  return { name: 'list', figures, rows };
}
