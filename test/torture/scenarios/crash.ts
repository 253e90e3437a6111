// crash: N tasks, the real service kill -9'ed at K random moments and restarted each time. At the
// end every task is done exactly once in Done/, no two runs of one task overlapped, every note
// parses, no agent is left running and no lease is left behind.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunLog } from '../../helpers/vault-harness.js';
import { agentAlive, countIn, inventory, kill9, ready, rng, runProblems, sleep, stop, taskNote, tortureVault, unparseable, until, type ScenarioReport } from '../lib.js';

export interface CrashOptions {
  tasks: number;
  kills: number;
  seed?: number;
  timeoutMs?: number;
}

export async function crashScenario(o: CrashOptions): Promise<ScenarioReport> {
  const seed = o.seed ?? Math.floor(Math.random() * 1e9);
  const rand = rng(seed);
  const tv = tortureVault('crash', undefined, { FIXTURE_SLEEP_MS: '100', FIXTURE_SLEEP_MAX_MS: '700' });
  const ids = Array.from({ length: o.tasks }, (_, i) => `job-${String(i).padStart(3, '0')}`);
  const priorities = ['urgent', 'high', 'medium', 'low'];
  for (const [i, id] of ids.entries()) writeFileSync(join(tv.vault, 'Needs_Action', `${id}.md`), taskNote(`type: claude_code\npriority: ${priorities[i % 4]}`, `Job ${id}.\n`));
  const problems: string[] = [];
  const killedAtDone: number[] = [];
  let svc = tv.start();
  try {
    for (let k = 0; k < o.kills; k++) {
      if (rand() < 0.25) {
        await sleep(Math.floor(rand() * 500)); // during startup and recovery
      } else {
        await ready(svc);
        // Spread the kills over the work left: ~400 ms per task, 4 at a time.
        const span = ((o.tasks - countIn(tv.vault, 'Done')) * 100) / (o.kills - k);
        await sleep(Math.floor(rand() * span * 1.5));
      }
      await kill9(svc);
      killedAtDone.push(countIn(tv.vault, 'Done'));
      svc = tv.start();
    }
    await ready(svc);
    await until(() => countIn(tv.vault, 'Done') >= o.tasks, `${o.tasks} notes in Done/`, o.timeoutMs ?? 60_000, 100);
    await stop(svc);
    if (svc.child.exitCode !== 0) problems.push(`final service exited with ${svc.child.exitCode ?? svc.child.signalCode}`);
  } catch (err) {
    problems.push(String(err));
  } finally {
    await stop(svc);
  }
  const inv = inventory(tv.vault);
  for (const id of ids) {
    const where = inv.get(id) ?? [];
    if (where.length !== 1 || where[0]!.folder !== 'Done') problems.push(`${id}: expected once in Done/, found ${JSON.stringify(where.map((w) => w.folder))}`);
    else if (!/^status: done$/m.test(readFileSync(where[0]!.path, 'utf8'))) problems.push(`${id}: in Done/ but not status: done`);
  }
  for (const id of inv.keys()) if (!ids.includes(id)) problems.push(`unexpected note ${id} (duplicate copy?) in ${inv.get(id)!.map((w) => w.folder).join(', ')}`);
  problems.push(...(await unparseable(tv.vault)), ...runProblems(tv.runLog));
  const runs = parseRunLog(tv.runLog);
  await sleep(200);
  for (const r of runs) if (agentAlive(r.pid, tv.runLog)) problems.push(`agent ${r.task} pid ${r.pid} still running after the final stop`);
  const leases = readdirSync(join(tv.vault, '.vaultrunner', 'leases')).filter((n) => n.endsWith('.json'));
  if (leases.length) problems.push(`leases left behind: ${leases.join(', ')}`);
  const report: ScenarioReport = {
    name: 'crash',
    problems,
    facts: { seed, tasks: o.tasks, kills: o.kills, killedAtDone, runs: runs.length, reruns: runs.length - new Set(runs.map((r) => r.task)).size },
  };
  if (problems.length === 0) tv.cleanup();
  else report.facts.kept = tv.root; // keep the evidence
  return report;
}
