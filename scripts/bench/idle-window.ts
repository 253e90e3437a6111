// Idle CPU of one service build over a long window, as the scale bench's rep 1 measures it but
// alone and with the sizes in the environment (for before/after pairs: run two builds side by
// side). `node --import tsx scripts/bench/idle-window.ts <path to dist/cli.js>`; DONE (100000),
// PAUSED (5000), IDLE_S (600), LABEL. The service's own CPU from /proc once it went quiet.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { benchDir, cpuSeconds, noteText, rssMb, serviceEnv, sleep, waitQuiet } from './common.ts';

const cli = resolve(process.argv[2] ?? 'dist/cli.js');
const dir = benchDir('idle-window');
const done = Number(process.env.DONE ?? 100_000);
const paused = Number(process.env.PAUSED ?? 5000);
for (let i = 0; i < done; i++) writeFileSync(join(dir.vault, 'Done', `done-${i}.md`), noteText(`type: claude_code\ntitle: Finished ${i}\nstatus: done\nattempts: 1\ntags: [bench]`, `Did ${i}.\n`));
for (let i = 0; i < paused; i++) writeFileSync(join(dir.vault, 'Needs_Action', `paused-${i}.md`), noteText(`type: claude_code\nstatus: paused\ntitle: Held task ${i}\npriority: low`, `Held ${i}.\n`));
const child = spawn(process.execPath, [cli, 'start', '--vault', dir.vault], { cwd: dir.root, env: serviceEnv(dir), stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stderr!.on('data', (d) => (out += d));
child.stdout!.on('data', (d) => (out += d));
child.on('exit', (code) => {
  if (out.includes('vaultrunner started')) return;
  console.error(`service exited (${code}) before ready:\n${out.slice(-2000)}`);
  dir.cleanup();
  process.exit(1);
});
while (!out.includes('vaultrunner started')) await sleep(50);
const q = await waitQuiet(child.pid!);
const c0 = cpuSeconds(child.pid!);
const t0 = Date.now();
await sleep(Number(process.env.IDLE_S ?? 600) * 1000);
const cpu = cpuSeconds(child.pid!) - c0;
const wall = (Date.now() - t0) / 1000;
console.log(`${process.env.LABEL ?? cli}: quiet ${q.quiet} after ${q.ms} ms; idle cpu ${cpu.toFixed(3)} s over ${wall.toFixed(0)} s = ${((cpu / wall) * 100).toFixed(3)} %; rss ${rssMb(child.pid!).toFixed(1)} MB`);
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
dir.cleanup();
