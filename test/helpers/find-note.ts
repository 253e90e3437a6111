// Where a task note is now, read without racing the service: a note moved between the check and the
// read (Needs_Action → Done while a test polls) is looked for again instead of failing with ENOENT.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const NOTE_FOLDERS = ['Needs_Action', 'Pending_Approval', 'Done'] as const;

/** The note `id` in the first of `folders` that holds it, or undefined when none does. */
export function findNote(vault: string, id: string, folders: readonly string[] = NOTE_FOLDERS): { folder: string; path: string; text: string } | undefined {
  // A move is one rename, so a note missed in one folder is in another; a second pass covers a move
  // against the scan's order (Pending_Approval → Needs_Action).
  for (let pass = 0; pass < 2; pass++) {
    for (const folder of folders) {
      const path = join(vault, folder, `${id}.md`);
      try {
        return { folder, path, text: readFileSync(path, 'utf8') };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  return undefined;
}
