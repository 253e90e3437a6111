// The long torture run: the scenarios of test/torture/ at soak sizes, against the real CLI.
// `npm run soak [-- --only crash,editor] [--rounds N] [--seed S]`. Exits 1 if any problem is found;
// a failing scenario keeps its temp vault and prints where.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ScenarioReport } from '../test/torture/lib.js';
import { badInputScenario } from '../test/torture/scenarios/bad-input.js';
import { crashScenario } from '../test/torture/scenarios/crash.js';
import { crashFinishingScenario } from '../test/torture/scenarios/crash-finishing.js';
import { editorScenario } from '../test/torture/scenarios/editor.js';
import { hostileVaultScenario } from '../test/torture/scenarios/hostile-vault.js';
import { noisyScenario } from '../test/torture/scenarios/noisy.js';
import { twoServicesScenario } from '../test/torture/scenarios/two-services.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, rounds: { type: 'string', default: '1' }, seed: { type: 'string' } }, strict: true });
const seed = values.seed === undefined ? undefined : Number(values.seed);

const SCENARIOS: Record<string, () => Promise<ScenarioReport>> = {
  crash: () => crashScenario({ tasks: 200, kills: 10, seed, timeoutMs: 300_000 }),
  // Real claude: agents that finish while the service is down are recorded, not re-run.
  'crash-finishing': () => crashFinishingScenario({ tasks: 30, kills: 8, seed, timeoutMs: 300_000 }),
  editor: () => editorScenario({ tasks: 100, editsPerSecond: 8, seed, timeoutMs: 300_000 }),
  'bad-input': () => badInputScenario({ hugeMb: 20, followUps: 20 }),
  'two-services': () => twoServicesScenario({ tasks: 40 }),
  noisy: () => noisyScenario({ noisyMb: 1024, timeoutS: 60 }),
  'hostile-vault': () => hostileVaultScenario({ flowMb: 14, followUps: 40 }),
};

const names = values.only ? values.only.split(',') : Object.keys(SCENARIOS);
for (const n of names) if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n}; one of ${Object.keys(SCENARIOS).join(', ')}`);

// The scenarios run the real CLI: build dist/ first, as the tests' global setup does.
const root = join(import.meta.dirname, '..');
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { encoding: 'utf8' });
if (tsc.status !== 0) {
  // A soak of a build that did not compile would test yesterday's dist/.
  process.stderr.write(`tsc failed; fix the build first:\n${tsc.stdout}${tsc.stderr}\n`);
  process.exit(1);
}

let failed = 0;
const t0 = Date.now();
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const name of names) {
    const start = Date.now();
    process.stdout.write(`soak ${name} (round ${round}) … `);
    let r: ScenarioReport;
    try {
      r = await SCENARIOS[name]!();
    } catch (err) {
      r = { name, problems: [`scenario threw: ${(err as Error).stack ?? String(err)}`], facts: {} };
    }
    const secs = Math.round((Date.now() - start) / 100) / 10;
    process.stdout.write(`${r.problems.length ? `FAILED (${r.problems.length} problems)` : 'ok'} in ${secs} s  ${JSON.stringify(r.facts)}\n`);
    for (const p of r.problems.slice(0, 40)) process.stdout.write(`    - ${p}\n`);
    if (r.problems.length) failed++;
  }
}
process.stdout.write(`\nsoak: ${failed ? `${failed} scenario run(s) FAILED` : 'all passed'} in ${Math.round((Date.now() - t0) / 1000)} s\n`);
process.exitCode = failed ? 1 : 0;
