// Writes the review note `Reviews/<task>.md` and its full patch beside it: the note through the
// note store (temp file + rename, never through a link), the patch through the safe-open helpers.
import { constants } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineContext } from '../../engine/context.js';
import { NoteGoneError } from '../../errors.js';
import { ensureVaultDir, openRegular } from '../../os/safe-open.js';

/** Where commitAll writes the whole patch first (machine state, never read by Obsidian). */
export async function patchScratchPath(ctx: EngineContext, taskId: string): Promise<string> {
  const dir = join(ctx.paths.state, 'reviews');
  await ensureVaultDir(ctx.paths.root, dir);
  return join(dir, `${taskId}.patch`);
}

/** Review note and patch for one task; returns the note's vault-relative link target. */
export async function writeReview(ctx: EngineContext, taskId: string, text: string, scratchPatch: string | undefined): Promise<{ link: string; patchLink?: string }> {
  const dir = ctx.paths.reviews;
  await ensureVaultDir(ctx.paths.root, dir);
  let patchLink: string | undefined;
  if (scratchPatch) {
    const bytes = await readFile(scratchPatch).catch(() => undefined);
    if (bytes) {
      const fh = await openRegular(join(dir, `${taskId}.patch`), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
      try {
        await fh.writeFile(bytes);
      } finally {
        await fh.close();
      }
      await rm(scratchPatch, { force: true });
      patchLink = `Reviews/${taskId}.patch`;
    }
  }
  const path = join(dir, `${taskId}.md`);
  // Ours to regenerate (a follow-up run writes it again); the compare-and-swap still refuses a
  // save that lands in between, and a second try takes the newest snapshot.
  for (let i = 0; i < 3; i++) {
    const snap = await ctx.store.snapshot(path).catch((err: unknown) => {
      if (err instanceof NoteGoneError) return null;
      throw err;
    });
    if (!snap) {
      try {
        await ctx.store.create(path, text);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
    }
    if (await ctx.store.replace(path, text, snap)) break;
  }
  return { link: `Reviews/${taskId}`, ...(patchLink ? { patchLink } : {}) };
}
