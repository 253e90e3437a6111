// Temp files a crash left beside notes (`.<name>.vr-<hex>.tmp`, see tempNameFor). Obsidian ignores
// dot-files, but these pile up and hold note text. The service's first scan hands over the
// listings it makes anyway; a name of exactly that pattern is removed only when nothing can be lost:
//  - younger than STALE_TEMP_MS: perhaps another process's write in flight (a CLI command, the
//    service of a second host) — kept;
//  - another name holds the same file (nlink > 1: a created note's temp after its link, a moved
//    note's source after the move's link) — removed once its ctime is old too, since a move
//    renames a note to a temp name just before it unlinks it, and the rename keeps the note's mtime;
//  - a single link with its note beside it: an edit that never landed (the note holds the last
//    version that did) — removed;
//  - a single link with no note beside it may be the only copy of a note a move was taking away
//    (NoteStore.restore's last resort) — never removed, said at each start.
import { lstatSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { TEMP_NAME } from './note-store.js';

/** How old a temp file must be before it counts as left by a crash. */
export const STALE_TEMP_MS = 10 * 60_000;

/** Remove the stale temp files among `names` (the listing of `dir`); returns the names removed. */
export function removeStaleNoteTemps(dir: string, names: readonly string[], logger: Pick<Logger, 'info' | 'warn'>, minAgeMs = STALE_TEMP_MS): string[] {
  const removed: string[] = [];
  let listed: Set<string> | undefined;
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    try {
      const st = lstatSync(file);
      // File times are the kernel's wall clock, so compared with Date.now(), not an injected clock.
      const now = Date.now();
      if (!st.isFile() || now - st.mtimeMs < minAgeMs) continue;
      if (st.nlink > 1) {
        if (now - st.ctimeMs < minAgeMs) continue;
      } else if (!(listed ??= new Set(names)).has(m[1]!)) {
        logger.warn({ component: 'vault', file }, `${file} may hold the only copy of a note (there is no ${m[1]} beside it); left in place: look at it, then rename or remove it`);
        continue;
      }
      unlinkSync(file);
      removed.push(name);
      logger.info({ component: 'vault', file }, `removed ${file}, a temp file a crash left behind`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ component: 'vault', file, err: (err as Error).message }, `could not remove ${file}: ${(err as Error).message}`);
    }
  }
  return removed;
}
