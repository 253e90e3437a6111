// Benchmarks of vaultrunner through its real CLI. `npm run bench [-- --quick] [--only <name>]`.
// Prints a readable table and one JSON line per benchmark ({"bench":"<name>",...}) on stdout.
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt, type BenchResult } from './common.js';
import { runPickup } from './pickup.js';
import { runThroughput } from './throughput.js';
import { runScale } from './scale.js';
import { runParse } from './parse.js';
import { runClaudeOverhead } from './claude-overhead.js';
import { runWeb } from './web.js';
import { runWorkspace } from './workspace.js';
import { runList } from './list.js';
import { runQueue } from './queue.js';
import { tempFilesystem } from './machine.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string', multiple: true }, 'cpu-prof': { type: 'string' } },
  strict: true,
});
// --cpu-prof <dir>: profile the service during throughput (node --cpu-prof), one file per rep.
const cpuProfDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;

const BENCHES: Record<string, (quick: boolean) => Promise<BenchResult>> = {
  pickup: runPickup,
  throughput: (q) => runThroughput(q, { cpuProfDir }),
  scale: runScale,
  parse: runParse,
  'claude-overhead': runClaudeOverhead,
  web: runWeb,
  workspace: runWorkspace,
  list: runList,
  queue: runQueue,
};

const quick = values.quick ?? false;
const names = values.only?.length ? values.only.flatMap((o) => o.split(',')) : Object.keys(BENCHES);
for (const n of names) if (!BENCHES[n]) throw new Error(`unknown benchmark ${n}; one of ${Object.keys(BENCHES).join(', ')}`);

const say = (s: string) => process.stderr.write(`${s}\n`);
ensureBuilt(say);
const fs = tempFilesystem();
say(`temp vaults in ${tmpdir()}: ${fs}`);
const results: BenchResult[] = [];
const t0 = Date.now();
for (const name of names) {
  say(`running ${name}${quick ? ' (quick)' : ''} …`);
  const start = Date.now();
  const r = await BENCHES[name]!(quick);
  r.figures.seconds = Math.round((Date.now() - start) / 100) / 10;
  results.push(r);
  process.stdout.write(`${JSON.stringify({ bench: r.name, quick, ...r.figures })}\n`);
}
const rows = results.flatMap((r) => [[`[${r.name}]`, '', '', ''], ...r.rows]);
const header = ['what', 'value', 'target', 'verdict'];
const w = [0, 1, 2, 3].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
const line = (row: string[]) => row.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
process.stdout.write(`\n${line(header)}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n${rows.map(line).join('\n')}\n`);
process.stdout.write(`\ntotal ${Math.round((Date.now() - t0) / 1000)} s${quick ? ' (quick)' : ''}; temp vaults on ${fs}\n`);
