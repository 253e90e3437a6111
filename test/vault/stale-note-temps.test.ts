// Temp files a crash left beside notes (`.<name>.vr-<hex>.tmp`) go at the service's first scan, on
// a real temp vault: only names of exactly that pattern, only old ones, never a possible only copy.
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { vaultPaths, type VaultPaths } from '../../src/vault/layout.js';
import { NoteStore, TEMP_NAME, tempNameFor } from '../../src/vault/note-store.js';
import { removeStaleNoteTemps } from '../../src/vault/stale-note-temps.js';
import { TaskIndex } from '../../src/vault/task-index.js';
import { initVault } from '../../src/vault/init-vault.js';
import { createHarness, waitFor } from '../helpers/vault-harness.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const note = (status: string) => `---\ntype: claude_code\nstatus: ${status}\n---\nBody.\n`;

function vault(): VaultPaths {
  dir = mkdtempSync(join(tmpdir(), 'vr-temps-'));
  const paths = vaultPaths(join(dir, 'vault'));
  for (const d of [paths.needsAction, paths.pendingApproval]) mkdirSync(d, { recursive: true });
  return paths;
}

function write(path: string, text: string, ageMs = 0): string {
  writeFileSync(path, text);
  if (ageMs) backdate(path, ageMs);
  return path;
}

function backdate(path: string, ageMs: number): void {
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
}

function captureLogger() {
  const lines: { level: number; msg: string; file?: string }[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) }) };
}

const HOUR = 3_600_000;

describe('temp files a crash left beside notes', () => {
  it('the pattern is exactly what tempNameFor gives, for short and cut names', () => {
    for (const name of ['a.md', 'x.vr-01234567.tmp.md', `${'長'.repeat(120)}.md`]) {
      const m = TEMP_NAME.exec(basename(tempNameFor(join('/v/Needs_Action', name))));
      expect(m, name).not.toBeNull();
      expect(name.startsWith(m![1]!)).toBe(true);
    }
  });

  it("the service's first scan removes only old ones of exactly our pattern whose note is beside them", async () => {
    const paths = vault();
    const na = paths.needsAction;
    write(join(na, 'a.md'), note('new'));
    write(join(na, 'b.md'), note('new'));
    write(join(na, 'c.md'), note('new'));
    write(join(paths.pendingApproval, 'p.md'), note('awaiting_approval'));
    const old = write(join(na, '.a.md.vr-0123abcd.tmp'), 'an edit that never landed', HOUR);
    const oldPending = write(join(paths.pendingApproval, '.p.md.vr-89abcdef.tmp'), 'same', HOUR);
    const fresh = write(join(na, '.b.md.vr-01234567.tmp'), 'a write in flight'); // another process's, maybe
    // Look-alikes, all old: never ours, never touched.
    const lookAlikes = ['.a.md.vr-0123abc.tmp', '.a.md.vr-0123ABCD.tmp', 'a.md.vr-0123abcd.tmp', '.a.md.vr-0123abcd.tmp~', '.a.md.0123abcd.tmp', '.vr-0123abcd.tmp', '.syncthing.a.md.tmp'].map((n) => write(join(na, n), 'not ours', HOUR));
    // Ours and old, but with no note beside it: it may be the only copy of a note being moved.
    const orphan = write(join(na, '.gone.md.vr-00000001.tmp'), note('done'), HOUR);
    // A second name of a note (a move's source just renamed away): its mtime is the note's, old; its ctime is now.
    const moving = join(na, '.c.md.vr-00000002.tmp');
    linkSync(join(na, 'c.md'), moving);
    backdate(moving, HOUR);
    const folderLike = join(na, '.d.md.vr-00000003.tmp');
    mkdirSync(folderLike);
    backdate(folderLike, HOUR);

    // CLI commands (one-shot, and doctor's plain scan) leave everything as it is.
    await new TaskIndex(new NoteStore(), paths, silentLogger()).scan({ blocking: true, oneShot: true });
    await new TaskIndex(new NoteStore(), paths, silentLogger()).scan();
    expect(existsSync(old)).toBe(true);

    const { lines, logger } = captureLogger();
    const index = new TaskIndex(new NoteStore({ vaultRoot: paths.root }), paths, logger);
    await index.scan({ blocking: true });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(oldPending)).toBe(false);
    for (const kept of [fresh, ...lookAlikes, orphan, moving, folderLike]) expect(existsSync(kept), kept).toBe(true);
    expect(readdirSync(na).filter((n) => n.endsWith('.md')).sort()).toEqual(['a.md', 'b.md', 'c.md']);
    expect(index.entries().map((e) => e.id).sort()).toEqual(['a', 'b', 'c', 'p']);
    // One line per removal, and one about the possible only copy.
    expect(lines.filter((l) => /^removed /.test(l.msg)).map((l) => l.file).sort()).toEqual([old, oldPending].sort());
    expect(lines.filter((l) => l.level === 40).map((l) => l.file)).toEqual([orphan]);

    // Later passes list the folders again, and remove nothing.
    backdate(fresh, HOUR);
    await index.scan({ quickStat: true });
    await index.reconcile();
    expect(existsSync(fresh)).toBe(true);
  });

  it('a second name of a note goes once its ctime is old too', async () => {
    const paths = vault();
    const na = paths.needsAction;
    write(join(na, 'e.md'), note('new'));
    const grave = join(na, '.e.md.vr-0000000a.tmp');
    linkSync(join(na, 'e.md'), grave);
    backdate(grave, HOUR);
    const minAgeMs = 300;
    while (Date.now() - statSync(grave).ctimeMs < minAgeMs + 50) await new Promise((r) => setTimeout(r, 50));
    const { lines, logger } = captureLogger();
    expect(removeStaleNoteTemps(na, readdirSync(na), logger, minAgeMs)).toEqual([basename(grave)]);
    expect(existsSync(grave)).toBe(false);
    expect(statSync(join(na, 'e.md')).nlink).toBe(1); // the note itself is untouched
    expect(lines.map((l) => l.file)).toEqual([grave]);
  });

  it('the service also clears those beside the Dashboard, plans and reviews once it is ready', async () => {
    const h = createHarness();
    try {
      await initVault(h.vault, { examples: false });
      const root = write(join(h.vault, '.Dashboard.md.vr-0000000b.tmp'), 'half a dashboard', HOUR);
      write(join(h.vault, 'Plans', 'PLAN_x.md'), 'plan');
      const plan = write(join(h.vault, 'Plans', '.PLAN_x.md.vr-0000000c.tmp'), 'half a plan', HOUR);
      mkdirSync(join(h.vault, 'Reviews'), { recursive: true });
      const review = write(join(h.vault, 'Reviews', '.r.md.vr-0000000d.tmp'), 'the only copy?', HOUR);
      await h.start();
      await waitFor(() => h.logLines().filter((l) => /^removed .*a temp file a crash left behind$/.test(String(l.msg))).length === 2, 'two removals logged');
      expect(existsSync(root)).toBe(false); // Dashboard.md is beside it once the first one is written
      expect(existsSync(plan)).toBe(false);
      expect(existsSync(review)).toBe(true); // no r.md beside it: it stays, with a warning
      expect(h.logLines().some((l) => l.file === review && l.level === 40)).toBe(true);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});
