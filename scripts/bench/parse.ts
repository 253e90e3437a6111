// parse: notes/s through NoteStore.read + validateTask (the TS sources, via tsx) against a plain
// readFile of the same files, alternated rep by rep in one process.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { validateTask } from '../../src/domain/task.js';
import { taskIdOf } from '../../src/vault/layout.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { benchDir, median, noteText, round, verdict, type BenchResult } from './common.js';

/** A realistic task note: a dozen keys (comments, lists, quoting), a 1-2 KB body. */
function note(i: number): string {
  const fm = [
    '# written by hand',
    'type: claude_code',
    `title: "Fix issue #${i}: the login redirect"`,
    `priority: ${['urgent', 'high', 'medium', 'low'][i % 4]}`,
    `due: 2026-12-${String((i % 28) + 1).padStart(2, '0')}`,
    'status: planned',
    `plan: "[[PLAN_task-${i}]]"`,
    'blocked_by:',
    `  - "[[task-${i + 1}]]"`,
    '  - setup',
    'requires_review: false',
    'timeout: 10m',
    'max_attempts: 3',
    'tags: [bench, parse]',
    'aliases:',
    `  - Task ${i}`,
  ].join('\n');
  const body = `The login page sends people to / instead of where they came from (${i}).\n\n## Steps\n\n${'- [ ] Do a thing that matters here\n'.repeat(30)}\n## Notes\n\n${'Some prose. '.repeat(60)}\n`;
  return noteText(fm, body);
}

export async function runParse(quick: boolean): Promise<BenchResult> {
  const n = quick ? 1000 : 5000;
  const reps = quick ? 3 : 7;
  const dir = benchDir('parse');
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir.vault, 'Needs_Action', `task-${i}.md`);
    writeFileSync(p, note(i));
    paths.push(p);
  }
  const store = new NoteStore();
  const plain = async () => {
    let bytes = 0;
    for (const p of paths) bytes += (await readFile(p, 'utf8')).length;
    return bytes;
  };
  const ours = async () => {
    let ok = 0;
    for (const p of paths) {
      const r = await store.read(p);
      if (r.ok && validateTask(taskIdOf(p), r.data).ok) ok++;
    }
    if (ok !== n) throw new Error(`only ${ok} of ${n} notes validated`);
    return ok;
  };
  const timed = async (fn: () => Promise<number>) => {
    const t = performance.now();
    await fn();
    return n / ((performance.now() - t) / 1000);
  };
  try {
    await plain(); // warm the page cache and the JIT for both
    await ours();
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < reps; r++) {
      b.push(await timed(plain));
      a.push(await timed(ours));
    }
    const oursRate = median(a);
    const plainRate = median(b);
    const ratio = round(plainRate / oursRate, 1);
    return {
      name: 'parse',
      figures: { n, reps, oursNotesPerSec: round(oursRate, 0), plainNotesPerSec: round(plainRate, 0), ratio, usPerNote: round(1e6 / oursRate, 0), target: { ratio: 1.5 } },
      rows: [
        [`read + parse + validate (NoteStore.read + validateTask), ${n} notes × ${reps}`, `${round(oursRate, 0)} notes/s (${round(1e6 / oursRate, 0)} µs each)`, '', ''],
        ['plain readFile of the same files', `${round(plainRate, 0)} notes/s`, '', ''],
        ['plain / ours (how many times slower parsing makes a read)', `${ratio}×`, '≤ 1.5×', verdict(ratio <= 1.5)],
      ],
    };
  } finally {
    dir.cleanup();
  }
}
