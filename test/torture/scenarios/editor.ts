// concurrent editor: another process edits random task notes several times a second while the
// service runs them. Every edit the editor made must be in some note at the end (the service's
// compare-and-swap writes and its moves must never drop a person's change), and every task ends
// in Done/.
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countIn, FOLDERS, inventory, ready, stop, taskNote, tortureVault, unparseable, until, type ScenarioReport } from '../lib.js';

export interface EditorOptions {
  tasks: number;
  editsPerSecond: number;
  seed?: number;
  timeoutMs?: number;
}

interface Edit {
  id: string;
  marker: string;
  kind: string;
  mode: string;
  path: string;
}

export async function editorScenario(o: EditorOptions): Promise<ScenarioReport> {
  const seed = o.seed ?? Math.floor(Math.random() * 1e9);
  const tv = tortureVault('editor', undefined, { FIXTURE_SLEEP_MS: '300', FIXTURE_SLEEP_MAX_MS: '900' });
  const ids = Array.from({ length: o.tasks }, (_, i) => `edited-${String(i).padStart(3, '0')}`);
  const problems: string[] = [];
  const edits: Edit[] = [];
  const svc = tv.start();
  const editor = spawn(process.execPath, [join(import.meta.dirname, '..', 'editor-process.mjs')], {
    env: { ...process.env, EDITOR_VAULT: tv.vault, EDITOR_IDS: JSON.stringify(ids), EDITOR_RATE: String(o.editsPerSecond), EDITOR_SEED: String(seed) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let buf = '';
  editor.stdout!.on('data', (d) => {
    buf += String(d);
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.trim()) edits.push(JSON.parse(l) as Edit);
  });
  const editorExit = new Promise((r) => editor.on('exit', r));
  try {
    await ready(svc);
    // Notes arrive while the editor is already at work; some get edited before they are planned.
    for (const id of ids) {
      const tmp = join(tv.vault, 'Needs_Action', `.${id}.drop.tmp`);
      writeFileSync(tmp, taskNote('type: claude_code\ntags: [torture]', `Edited task ${id}.\n`));
      renameSync(tmp, join(tv.vault, 'Needs_Action', `${id}.md`));
    }
    await until(() => countIn(tv.vault, 'Done') >= o.tasks, `${o.tasks} notes in Done/`, o.timeoutMs ?? 60_000, 100);
  } catch (err) {
    problems.push(String(err));
  } finally {
    editor.stdin!.end('stop\n');
    await editorExit;
    await stop(svc);
  }
  // Every marker the editor wrote is somewhere (the note may have been copied by a save that raced
  // a move; then it is in either copy).
  const texts = [...inventory(tv.vault, FOLDERS).values()].flat().map((e) => readFileSync(e.path, 'utf8'));
  const all = texts.join('\n');
  const lost = edits.filter((e) => !all.includes(e.marker));
  for (const e of lost) problems.push(`edit lost: ${e.marker} (${e.kind}, ${e.mode}) on ${e.id}`);
  const inv = inventory(tv.vault);
  for (const id of ids) if (!(inv.get(id) ?? []).some((w) => w.folder === 'Done')) problems.push(`${id} never reached Done/ (${JSON.stringify(inv.get(id)?.map((w) => w.folder))})`);
  problems.push(...(await unparseable(tv.vault)));
  const copies = [...inv.keys()].filter((id) => !ids.includes(id));
  const notDone = ids.filter((id) => (inv.get(id) ?? []).some((w) => w.folder === 'Done' && !/^status: done$/m.test(readFileSync(w.path, 'utf8'))));
  const report: ScenarioReport = {
    name: 'editor',
    problems,
    facts: { seed, tasks: o.tasks, edits: edits.length, inPlace: edits.filter((e) => e.mode === 'in-place').length, renamed: edits.filter((e) => e.mode === 'rename').length, extraCopies: copies, doneWithOtherStatus: notDone.length },
  };
  if (problems.length === 0) tv.cleanup();
  else report.facts.kept = tv.root;
  return report;
}
