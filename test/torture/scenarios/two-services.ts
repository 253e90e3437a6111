// two services on one vault: while one runs, a second refuses to start (exit code 1, a clear
// message) and touches nothing; after the first is kill -9'ed, a new one starts and recovers its
// tasks (orphaned agents stopped first: no two runs of a task overlap).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunLog } from '../../helpers/vault-harness.js';
import { countIn, inventory, kill9, ready, runProblems, stop, taskNote, tortureVault, unparseable, until, type ScenarioReport } from '../lib.js';

export async function twoServicesScenario(o: { tasks: number }): Promise<ScenarioReport> {
  const tv = tortureVault('two', undefined, { FIXTURE_SLEEP_MS: '800', FIXTURE_SLEEP_MAX_MS: '1500', MAX_CONCURRENT: '3' });
  const ids = Array.from({ length: o.tasks }, (_, i) => `shared-${i}`);
  for (const id of ids) writeFileSync(join(tv.vault, 'Needs_Action', `${id}.md`), taskNote('type: claude_code'));
  const problems: string[] = [];
  const first = tv.start();
  let third: ReturnType<typeof tv.start> | undefined;
  const facts: Record<string, unknown> = { tasks: o.tasks };
  try {
    await ready(first);
    await until(() => parseRunLog(tv.runLog).length >= 2, 'the first service running agents', 15_000);
    const runsBefore = parseRunLog(tv.runLog).length;
    const second = tv.start();
    const exit = await Promise.race([second.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    if (!exit) {
      problems.push('second service did not exit within 15 s');
      await kill9(second);
    } else {
      facts.secondExit = exit.code;
      if (exit.code !== 1) problems.push(`second service exited with ${exit.code ?? exit.signal}, expected 1`);
      if (!/another vaultrunner is already running on this vault \(pid \d+/.test(second.output())) problems.push(`second service's message is unclear: ${second.output().slice(-500)}`);
    }
    // The refused service left the first's lock alone, and the first is unharmed.
    const lock = JSON.parse(readFileSync(join(tv.vault, '.vaultrunner', 'service.lock'), 'utf8')) as { owner?: { pid?: number } };
    if (lock.owner?.pid !== first.child.pid) problems.push(`the lock changed hands: ${JSON.stringify(lock)}`);
    if (first.child.exitCode !== null) problems.push('the first service died when the second tried to start');
    facts.runsWhenSecondTried = runsBefore;
    facts.doneWhenKilled = countIn(tv.vault, 'Done');
    await kill9(first); // its agents keep running, orphaned, still holding leases
    third = tv.start();
    await ready(third);
    await until(() => countIn(tv.vault, 'Done') >= o.tasks, `${o.tasks} notes in Done/ after recovery`, 60_000, 100);
    await stop(third);
    if (third.child.exitCode !== 0) problems.push(`recovering service exited with ${third.child.exitCode ?? third.child.signalCode}`);
    if (!/recovered stale lease|killing orphaned agent/.test(third.output()) && Number(facts.doneWhenKilled) < o.tasks) problems.push('the new service did not report recovering the dead service\'s leases');
  } catch (err) {
    problems.push(String(err));
  } finally {
    await stop(first);
    if (third) await stop(third);
  }
  const inv = inventory(tv.vault);
  for (const id of ids) if ((inv.get(id) ?? []).map((w) => w.folder).join() !== 'Done') problems.push(`${id}: expected once in Done/, found ${JSON.stringify(inv.get(id)?.map((w) => w.folder))}`);
  problems.push(...runProblems(tv.runLog), ...(await unparseable(tv.vault)));
  const leases = readdirSync(join(tv.vault, '.vaultrunner', 'leases')).filter((n) => n.endsWith('.json'));
  if (leases.length) problems.push(`leases left behind: ${leases.join(', ')}`);
  facts.runs = parseRunLog(tv.runLog).length;
  const report: ScenarioReport = { name: 'two-services', problems, facts };
  if (problems.length === 0) tv.cleanup();
  else report.facts.kept = tv.root;
  return report;
}
