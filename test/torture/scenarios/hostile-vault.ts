// A hostile vault, as git or Syncthing could deliver it, under a running service: symlinks
// planted where the service writes (a run's transcript files, a run folder, today's log file),
// task names long or non-ASCII enough to overflow an encoded file name, and notes built to
// exhaust the parser (a flow list of millions of items, 100,000 keys). The service stays up,
// writes nothing outside the vault, refuses the big notes without touching them, and runs
// everything else.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localDay, logFileName } from '../../../src/log/daily-file.js';
import { parseRunLog } from '../../helpers/vault-harness.js';
import { inventory, ready, sha1, stop, taskNote, tortureVault, until, type ScenarioReport } from '../lib.js';

export interface HostileVaultOptions {
  /** Size of the flow-list note, MB (the report that broke the service used 14). */
  flowMb: number;
  /** Valid tasks dropped after the hostile ones; all must finish. */
  followUps: number;
}

export const CHINESE_TITLE = '修复登录页面在移动设备上无法正常显示的问题并添加相应的单元测试用例'.slice(0, 31);
export const LONG_TITLE = `${'a-rather-long-task-name-'.repeat(9)}`.slice(0, 200);

export async function hostileVaultScenario(o: HostileVaultOptions): Promise<ScenarioReport> {
  const tv = tortureVault('hostile', undefined, { FIXTURE_SLEEP_MS: '50' });
  const outside = join(tv.root, 'outside');
  const runs = join(tv.vault, 'Logs', 'runs');
  mkdirSync(join(outside, 'runs-dir'), { recursive: true });
  const secrets: Record<string, string> = { 'authorized_keys': 'ssh-ed25519 AAAA mine\n', 'notes.txt': 'keep me\n', 'log.txt': '' };
  for (const [n, text] of Object.entries(secrets)) writeFileSync(join(outside, n), text);
  const outsideState = () => JSON.stringify([readdirSync(outside).sort(), readdirSync(join(outside, 'runs-dir')), ...Object.keys(secrets).map((n) => readFileSync(join(outside, n), 'utf8'))]);
  const outsideBefore = outsideState();

  // Planted before the service starts, as a sync would deliver them.
  mkdirSync(join(runs, 'planted-files'), { recursive: true });
  symlinkSync(join(outside, 'authorized_keys'), join(runs, 'planted-files', 'attempt-1.md'));
  symlinkSync(join(outside, 'notes.txt'), join(runs, 'planted-files', 'attempt-1.jsonl'));
  symlinkSync(join(outside, 'runs-dir'), join(runs, 'planted-dir'));
  for (const d of [Date.now(), Date.now() + 86_400_000]) symlinkSync(join(outside, 'log.txt'), join(tv.vault, 'Logs', logFileName(localDay(d))));

  const na = join(tv.vault, 'Needs_Action');
  const drop = (name: string, text: string) => {
    const tmp = join(na, `.drop-${sha1(name).slice(0, 8)}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(na, `${name}.md`));
  };
  const flow = `---\ntype: claude_code\nitems: [${Array.from({ length: Math.floor((o.flowMb * 1024 * 1024) / 2) }, () => '1').join(',')}]\n---\n`;
  const keys = `---\ntype: claude_code\n${Array.from({ length: 100_000 }, (_, i) => `k${i}: ${i}`).join('\n')}\n---\n`;
  const big = { 'big-flow': flow, 'big-keys': keys };
  const problems: string[] = [];
  const svc = tv.start();
  const valid = ['planted-files', CHINESE_TITLE, LONG_TITLE, ...Array.from({ length: o.followUps }, (_, i) => `after-${i}`)];
  try {
    await ready(svc);
    for (const [name, text] of Object.entries(big)) drop(name, text);
    drop('planted-files', taskNote('type: claude_code'));
    drop('planted-dir', taskNote('type: claude_code'));
    drop(CHINESE_TITLE, taskNote('type: claude_code'));
    drop(LONG_TITLE, taskNote('type: claude_code'));
    for (const id of valid.slice(3)) drop(id, taskNote('type: claude_code'));
    const done = () => valid.filter((id) => inventory(tv.vault).get(id)?.some((w) => w.folder === 'Done'));
    await until(() => done().length === valid.length, 'every valid task done', 90_000, 200).catch((err) => {
      problems.push(`${String(err)}; not done: ${valid.filter((id) => !done().includes(id)).map((id) => id.slice(0, 40)).join(', ')}`);
    });
    if (svc.child.exitCode !== null || svc.child.signalCode !== null) problems.push(`service died: ${svc.output().slice(-2000)}`);
  } catch (err) {
    problems.push(String(err));
  } finally {
    await stop(svc);
  }
  if (outsideState() !== outsideBefore) problems.push(`something was written outside the vault: ${outsideState()}`);
  for (const [name, text] of Object.entries(big)) {
    const path = join(na, `${name}.md`);
    if (!existsSync(path)) problems.push(`${name}: moved or deleted`);
    else if (sha1(readFileSync(path, 'utf8')) !== sha1(text)) problems.push(`${name}: its bytes changed`);
  }
  const ran = new Set(parseRunLog(tv.runLog).map((r) => r.task));
  for (const name of Object.keys(big)) if (ran.has(name)) problems.push(`${name}: an agent ran it`);
  const planted = existsSync(join(runs, 'planted-files')) ? readdirSync(join(runs, 'planted-files')).sort() : [];
  if (!planted.includes('attempt-1 (2).md')) problems.push(`planted-files: its transcript is not beside the planted links (${planted.join(', ')})`);
  const report: ScenarioReport = { name: 'hostile-vault', problems, facts: { flowMb: o.flowMb, followUps: o.followUps, ran: ran.size, plantedDir: inventory(tv.vault).get('planted-dir')?.[0]?.folder ?? 'gone' } };
  if (problems.length === 0) tv.cleanup();
  else report.facts.kept = tv.root;
  return report;
}
