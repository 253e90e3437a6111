// crash-finishing: N tasks on the REAL claude CLI against our scripted model, the service kill -9'ed
// at K random moments while agents are mid-answer. Agents outlive the service; those that finish
// while it is down must be recorded after the restart, not run again. At the end every task is done
// exactly once and the model answered each task exactly once (no finished work redone).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/config/config.js';
import { claudeTestEnv, startModelServer, text } from '../../fixtures/model-server.js';
import { countIn, inventory, kill9, ready, rng, sleep, stop, taskNote, tortureVault, unparseable, until, type ScenarioReport } from '../lib.js';

export interface CrashFinishingOptions {
  tasks: number;
  kills: number;
  seed?: number;
  timeoutMs?: number;
}

export async function crashFinishingScenario(o: CrashFinishingOptions): Promise<ScenarioReport> {
  const seed = o.seed ?? Math.floor(Math.random() * 1e9);
  const rand = rng(seed);
  const answered = new Map<string, number>();
  const server = await startModelServer({
    handler: async (req) => {
      const id = /Finish job (job-\d+)\./.exec(req.text)?.[1];
      if (!id) return text('ok');
      await sleep(300 + Math.floor(rand() * 1500)); // a kill often lands while an answer is on its way
      answered.set(id, (answered.get(id) ?? 0) + 1);
      return text(`Finished ${id}.`);
    },
  });
  const tv = tortureVault('crash-finishing', undefined, {});
  const env = { ...claudeTestEnv(server.url, join(tv.root, 'home')), AGENT: 'claude', CLAUDE_BIN: join(PACKAGE_ROOT, 'node_modules', '.bin', 'claude'), COMMAND_AGENTS: '{}', PERMISSION_MODE: 'acceptEdits', MAX_CONCURRENT: '3' } as Record<string, string>;
  const ids = Array.from({ length: o.tasks }, (_, i) => `job-${String(i).padStart(3, '0')}`);
  for (const id of ids) writeFileSync(join(tv.vault, 'Needs_Action', `${id}.md`), taskNote('type: claude_code', `Finish job ${id}.\n`));
  const problems: string[] = [];
  let svc = tv.start(env);
  try {
    for (let k = 0; k < o.kills; k++) {
      await ready(svc);
      await sleep(1000 + Math.floor(rand() * 2500));
      await kill9(svc);
      await sleep(Math.floor(rand() * 2000)); // agents finish while nobody watches
      svc = tv.start(env);
    }
    await ready(svc);
    await until(() => countIn(tv.vault, 'Done') >= o.tasks, `${o.tasks} notes in Done/`, o.timeoutMs ?? 120_000, 200);
  } catch (err) {
    problems.push(String(err));
  } finally {
    await stop(svc);
    await server.close();
  }
  const inv = inventory(tv.vault);
  for (const id of ids) {
    const where = inv.get(id) ?? [];
    if (where.length !== 1 || where[0]!.folder !== 'Done') problems.push(`${id}: expected once in Done/, found ${JSON.stringify(where.map((w) => w.folder))}`);
    else if (!/^status: done$/m.test(readFileSync(where[0]!.path, 'utf8'))) problems.push(`${id}: in Done/ but not status: done`);
    const n = answered.get(id) ?? 0;
    if (n !== 1) problems.push(`${id}: the model answered it ${n} times (finished work redone)`);
  }
  problems.push(...(await unparseable(tv.vault)));
  const report: ScenarioReport = { name: 'crash-finishing', problems, facts: { seed, tasks: o.tasks, kills: o.kills, answers: [...answered.values()].reduce((a, b) => a + b, 0) } };
  if (problems.length === 0) tv.cleanup();
  else report.facts.kept = tv.root;
  return report;
}
