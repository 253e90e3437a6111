// The executor's queue, kept between passes, over a real TaskIndex on a real vault: after any mix
// of new, edited (priority, due, status), moved and deleted notes, sync() leaves exactly the
// `planned` tasks of Needs_Action/ in dispatchOrder's order, and names the ones that changed or left.
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatchOrder } from '../../src/domain/dispatch.js';
import type { Priority } from '../../src/domain/status.js';
import { DispatchQueue } from '../../src/executor/dispatch-queue.js';
import { silentLogger } from '../../src/log/logger.js';
import { vaultPaths, type VaultPaths } from '../../src/vault/layout.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { TaskIndex } from '../../src/vault/task-index.js';

const PRIORITIES: Priority[] = ['urgent', 'high', 'medium', 'low'];
const STATUSES = ['planned', 'planned', 'planned', 'paused', 'executing'];

let dir: string | undefined;
let queue: DispatchQueue | undefined;
afterEach(() => {
  queue?.close();
  queue = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function random(seed: number): (k: number) => number {
  let x = seed;
  return (k) => ((x = (x * 1103515245 + 12345) % 2147483648), x % k);
}

async function vault(): Promise<{ paths: VaultPaths; index: TaskIndex }> {
  dir = mkdtempSync(join(tmpdir(), 'vr-queue-'));
  const paths = vaultPaths(join(dir, 'vault'));
  for (const d of [paths.needsAction, paths.pendingApproval]) mkdirSync(d, { recursive: true });
  return { paths, index: new TaskIndex(new NoteStore({ vaultRoot: paths.root }), paths, silentLogger()) };
}

function noteText(rand: (k: number) => number): string {
  const due = rand(3) === 0 ? `\ndue: 2026-12-${String(1 + rand(28)).padStart(2, '0')}` : '';
  return `---\ntype: claude_code\nstatus: ${STATUSES[rand(STATUSES.length)]}\npriority: ${PRIORITIES[rand(4)]}${due}\n---\nBody ${rand(1e6)}.\n`;
}

/** What a queue built from scratch would hold: the index's planned tasks of Needs_Action/, sorted. */
function expected(index: TaskIndex): string[] {
  return index
    .withStatus('planned')
    .filter((e) => e.folder === 'Needs_Action' && e.state.kind === 'task')
    .map((e) => ({ id: e.id, firstSeen: e.firstSeen, task: e.state.kind === 'task' ? e.state.task : undefined! }))
    .sort(dispatchOrder)
    .map((q) => q.id);
}

describe('DispatchQueue', () => {
  it.each([1, 2, 3])('stays in dispatch order through random changes (seed %i)', async (seed) => {
    const rand = random(seed);
    const { paths, index } = await vault();
    const name = (i: number) => `task-${i}`;
    for (let i = 0; i < 60; i++) writeFileSync(join(paths.needsAction, `${name(i)}.md`), noteText(rand));
    // Planned but awaiting approval's folder: never queued.
    writeFileSync(join(paths.pendingApproval, 'held.md'), noteText(() => 0));
    await index.scan();
    queue = new DispatchQueue(index);
    expect(queue.needsRebuild).toBe(true);
    queue.rebuild();
    expect(queue.needsRebuild).toBe(false);
    expect(queue.items().map((q) => q.id)).toEqual(expected(index));
    expect(queue.items().some((q) => q.id === 'held')).toBe(false);
    let next = 60;
    for (let round = 0; round < 8; round++) {
      const before = new Set(queue.items().map((q) => q.id));
      const touched = new Set<string>();
      for (let k = 0; k < 6; k++) {
        const i = rand(next + 3);
        const id = i >= next ? name(next++) : name(i);
        const path = join(paths.needsAction, `${id}.md`);
        const what = rand(6);
        try {
          if (what === 0) unlinkSync(path);
          else if (what === 1) renameSync(path, join(paths.pendingApproval, `${id}.md`));
          else writeFileSync(path, noteText(rand));
        } catch {
          continue; // already deleted or moved
        }
        touched.add(id);
        await index.refresh(path);
        if (what === 1) await index.refresh(join(paths.pendingApproval, `${id}.md`));
      }
      const { changed, gone } = queue.sync();
      const now = expected(index);
      expect(queue.items().map((q) => q.id)).toEqual(now);
      expect(queue.size).toBe(now.length);
      // Gone: queued before, touched, not queued now. Changed: touched and queued now.
      expect(new Set(gone)).toEqual(new Set([...touched].filter((id) => before.has(id) && !now.includes(id))));
      expect(new Set(changed.map((q) => q.id))).toEqual(new Set([...touched].filter((id) => now.includes(id))));
      for (const id of now) expect(queue.get(id)?.id).toBe(id);
      for (const id of gone) expect(queue.get(id)).toBeUndefined();
    }
    expect(queue.sync()).toEqual({ changed: [], gone: [] });
  });

  it('asks for a rebuild once more notes changed than it keeps track of', async () => {
    const { paths, index } = await vault();
    for (const id of ['a', 'b']) writeFileSync(join(paths.needsAction, `${id}.md`), '---\ntype: claude_code\nstatus: planned\n---\nX.\n');
    await index.scan();
    queue = new DispatchQueue(index, { maxNoted: 3 });
    queue.rebuild();
    for (const id of ['c', 'd', 'e']) {
      writeFileSync(join(paths.needsAction, `${id}.md`), '---\ntype: claude_code\nstatus: planned\npriority: urgent\n---\nX.\n');
      await index.refresh(join(paths.needsAction, `${id}.md`));
    }
    expect(queue.needsRebuild).toBe(false);
    // A note already noted that changes again is one change still, not one over the limit.
    writeFileSync(join(paths.needsAction, 'e.md'), '---\ntype: claude_code\nstatus: planned\npriority: low\n---\nX.\n');
    await index.refresh(join(paths.needsAction, 'e.md'));
    expect(queue.needsRebuild).toBe(false);
    writeFileSync(join(paths.needsAction, 'f.md'), '---\ntype: claude_code\nstatus: planned\n---\nX.\n');
    await index.refresh(join(paths.needsAction, 'f.md'));
    expect(queue.needsRebuild).toBe(true);
    queue.rebuild();
    expect(queue.needsRebuild).toBe(false);
    expect(queue.items().map((q) => q.id)).toEqual(expected(index));
    expect(queue.size).toBe(6);
  });

  it('keeps the queued tasks\' agents, and takes in nothing after close()', async () => {
    const { paths, index } = await vault();
    writeFileSync(join(paths.needsAction, 'a.md'), '---\ntype: claude_code\nstatus: planned\nagent: codex\n---\nA.\n');
    writeFileSync(join(paths.needsAction, 'b.md'), '---\ntype: claude_code\nstatus: planned\n---\nB.\n');
    writeFileSync(join(paths.needsAction, 'c.md'), '---\ntype: claude_code\nstatus: planned\nagent: codex\n---\nC.\n');
    await index.scan();
    queue = new DispatchQueue(index);
    queue.rebuild();
    expect(new Set(queue.agents())).toEqual(new Set(['codex', undefined]));
    // Kept as notes come and go: the last task naming codex leaves, then a new one names gemini.
    for (const [id, text] of [['a', '---\ntype: claude_code\nstatus: paused\nagent: codex\n---\nA.\n'], ['c', undefined], ['e', '---\ntype: claude_code\nstatus: planned\nagent: gemini\n---\nE.\n']] as const) {
      const path = join(paths.needsAction, `${id}.md`);
      if (text) writeFileSync(path, text);
      else unlinkSync(path);
      await index.refresh(path);
    }
    queue.sync();
    expect(new Set(queue.agents())).toEqual(new Set(['gemini', undefined]));
    queue.close();
    writeFileSync(join(paths.needsAction, 'd.md'), '---\ntype: claude_code\nstatus: planned\n---\nD.\n');
    await index.refresh(join(paths.needsAction, 'd.md'));
    expect(queue.sync()).toEqual({ changed: [], gone: [] });
    queue.rebuild();
    expect(queue.items().map((q) => q.id).sort()).toEqual(['b', 'd', 'e']);
  });
});
