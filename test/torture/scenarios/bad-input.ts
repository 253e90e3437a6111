// bad input: a corpus of malformed notes dropped into a running service. It stays up, reports each
// with a reason (log line and/or `error:`), leaves unparseable ones byte for byte, runs none of
// them (no payload executes), and valid tasks dropped afterwards still complete.
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunLog } from '../../helpers/vault-harness.js';
import { inventory, logLines, ready, sha1, stop, taskNote, tortureVault, until, type ScenarioReport } from '../lib.js';
import { corpus, type Expect } from './bad-corpus.js';

export interface BadInputOptions {
  hugeMb: number;
  followUps: number;
}

export async function badInputScenario(o: BadInputOptions): Promise<ScenarioReport> {
  const tv = tortureVault('bad', undefined, { FIXTURE_SLEEP_MS: '50', MAX_ATTEMPTS: '2' });
  const ws = join(tv.root, 'workspace');
  const outside = join(tv.root, 'outside');
  mkdirSync(ws);
  mkdirSync(outside);
  const items = corpus({ root: tv.root, workspace: ws, outside, hugeMb: o.hugeMb });
  const na = join(tv.vault, 'Needs_Action');
  const problems: string[] = [];
  const svc = tv.start({ WORKSPACE_ROOTS: ws });
  const before = new Map<string, string>();
  try {
    await ready(svc);
    for (const it of items) {
      const path = join(na, it.name);
      if ('symlink' in it) symlinkSync(it.symlink, path);
      else {
        const tmp = join(na, `.drop-${sha1(it.name).slice(0, 8)}.tmp`);
        writeFileSync(tmp, it.content);
        renameSync(tmp, path);
      }
      before.set(it.name, fingerprint(path));
    }
    const settled = () => {
      const lines = logLines(tv.vault); // once per poll, not once per note
      return items.every((it) => satisfied(tv.vault, it.name, it.expect, lines));
    };
    await until(settled, 'every bad note handled', 45_000, 250).catch((err) => {
      for (const it of items) if (!satisfied(tv.vault, it.name, it.expect, logLines(tv.vault))) problems.push(`${it.name}: not handled as '${it.expect}' (${it.why})`);
      problems.push(String(err));
    });
    if (svc.child.exitCode !== null || svc.child.signalCode !== null) problems.push(`service died: ${svc.output().slice(-2000)}`);
    // The service still works: valid tasks dropped after the corpus complete.
    const follow = Array.from({ length: o.followUps }, (_, i) => `after-${i}`);
    for (const id of follow) writeFileSync(join(na, `${id}.md`), taskNote('type: claude_code'));
    await until(() => follow.every((id) => existsSync(join(tv.vault, 'Done', `${id}.md`))), 'follow-up tasks done', 30_000, 100).catch((err) => problems.push(String(err)));
  } catch (err) {
    problems.push(String(err));
  } finally {
    await stop(svc);
  }
  if (svc.child.exitCode !== 0) problems.push(`service exited with ${svc.child.exitCode ?? svc.child.signalCode} on SIGTERM`);
  const logs = logLines(tv.vault);
  if (logs.some((l) => l.level === 60)) problems.push('a fatal log line was written');
  const ran = new Set(parseRunLog(tv.runLog).map((r) => r.task));
  for (const it of items) {
    const id = it.name.replace(/\.md$/, '');
    if (it.expect !== 'done' && ran.has(id)) problems.push(`${it.name}: an agent ran it (${it.why})`);
    if (!satisfied(tv.vault, it.name, it.expect, logs)) continue; // reported above
    if ((it.expect === 'unreadable' || it.expect === 'conflict') && fingerprint(join(na, it.name)) !== before.get(it.name)) problems.push(`${it.name}: bytes changed (${it.why})`);
  }
  for (const m of ['js-payload', 'shell-payload', 'tag-payload']) if (existsSync(join(tv.root, `${m}.marker`))) problems.push(`payload executed: ${m}.marker exists`);
  const report: ScenarioReport = { name: 'bad-input', problems, facts: { corpus: items.length, malformed: items.filter((i) => i.expect !== 'done').length, followUps: o.followUps, runs: ran.size } };
  if (problems.length === 0) tv.cleanup();
  else report.facts.kept = tv.root;
  return report;
}

/** Bytes of a file, or of a symlink (its target) plus the target's bytes. */
function fingerprint(path: string): string {
  try {
    if (lstatSync(path).isSymbolicLink()) {
      const target = readlinkSync(path);
      return `link:${target}:${existsSync(target) ? sha1(readFileSync(target)) : 'missing'}`;
    }
    return sha1(readFileSync(path));
  } catch {
    return 'gone';
  }
}

/** Has the service dealt with this note the way `expect` says, with a reason a person can read? */
function satisfied(vault: string, name: string, expect: Expect, logs: Record<string, unknown>[]): boolean {
  const id = name.replace(/\.md$/, '');
  const path = join(vault, 'Needs_Action', name);
  const where = inventory(vault).get(id) ?? [];
  const text = () => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  const errorLine = () => /^error: .+/m.test(text());
  const logged = (pred: (l: Record<string, unknown>) => boolean) => logs.some(pred);
  switch (expect) {
    case 'unreadable':
      return logged((l) => l.file === path && typeof l.reason === 'string' && l.reason.length > 0);
    case 'conflict':
      return logged((l) => l.file === path && String(l.msg).includes('sync conflict'));
    case 'invalid':
      // An `error:` line (written once the note has been still for 5 s), and the warning logged with it.
      return (errorLine() && /^error: "?invalid task/m.test(text())) || logged((l) => l.task === id && l.level === 40 && Array.isArray(l.problems));
    case 'rejected':
      return errorLine() && where.every((w) => w.folder === 'Needs_Action');
    case 'failed':
      return errorLine() && /^status: failed$/m.test(text());
    case 'done':
      return where.some((w) => w.folder === 'Done');
  }
}
