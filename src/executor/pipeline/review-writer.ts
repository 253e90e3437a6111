// Writes the review note `Reviews/<task>.md` and its full patch beside it: the note through the
// note store (temp file + rename, never through a link), the patch through the safe-open helpers.
// And what a reviewed run's journal says, the same after a local run (after-agent.ts) and after a
// remote one (after-remote.ts): the note's keys, a failed gate, whether a person must review.
import { constants } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { obsidianDateTime } from '../../clock.js';
import type { RunOutcome } from '../../domain/outcome.js';
import type { EngineContext } from '../../engine/context.js';
import { NoteGoneError, shortMessage, VaultrunnerError } from '../../errors.js';
import { ensureVaultDir, openRegular } from '../../os/safe-open.js';
import { clip } from '../../runs/markdown-safe.js';
import { RESULT_MAX_CHARS } from '../../runs/result-section.js';
import { acceptanceCriteria, criteriaClaims, renderReviewNote, type ReviewFile } from '../../runs/review-note.js';
import { wikilink } from '../../vault/layout.js';
import { gatesSummary, type GateResult } from '../../workspace/gates.js';

export interface AfterAgent {
  /** Laid over the agent's journaled outcome: note keys, review, or a failure of these steps
   *  (a gate past its fix rounds, a fix round that failed, a commit that could not be made). */
  journal: Partial<RunOutcome>;
  /** Every denial of the run, fix rounds included. */
  permissionDenials: string[];
}

export const stepFailure = (code: string, message: string, retryable: boolean, sessionId?: string): Partial<RunOutcome> => ({ ok: false, code, message: shortMessage(message, 300), retryable, ...(sessionId ? { sessionId } : {}) });

/** A run's work as committed on its branch, with its gates' results, ready for review. */
export interface ReviewedRun {
  taskId: string;
  title?: string;
  /** The task note's body (its acceptance criteria) and the agent's final summary. */
  body: string;
  summary?: string;
  sessionId?: string;
  branch: string;
  baseBranch: string;
  baseCommit: string;
  headCommit: string;
  gates: readonly GateResult[];
  fixRounds?: number;
  stats: { files: readonly ReviewFile[]; filesChanged: number; insertions: number; deletions: number };
  diff: { text: string; truncated: boolean; bytes: number };
  denials: string[];
  scratch: string;
  /** The error for failed gates, from their names and summary (where they ran, what is kept). */
  gateError(names: string, summary: string): string;
}

/** Write the review note (and patch), then say what the journal records: the note's keys, and
 *  a failed gate, or whether a person must review. */
export async function reviewAndJournal(ctx: EngineContext, x: ReviewedRun): Promise<AfterAgent> {
  const review = await writeReview(
    ctx,
    x.taskId,
    renderReviewNote({
      taskId: x.taskId,
      title: x.title,
      // By name: the link stays right when the note is filed in Done/ after this.
      taskLink: x.taskId,
      generatedAt: obsidianDateTime(ctx.clock.now()),
      branch: x.branch,
      baseBranch: x.baseBranch,
      baseCommit: x.baseCommit,
      headCommit: x.headCommit,
      criteria: criteriaClaims(acceptanceCriteria(x.body), x.summary),
      summary: x.summary,
      gates: x.gates.map((g) => ({ name: g.name, ok: g.ok, exitCode: g.exitCode, timedOut: g.timedOut, ...(g.spawnError ? { spawnError: g.spawnError } : {}), durationMs: g.durationMs, outputTail: g.outputTail })),
      fixRounds: x.fixRounds,
      files: x.stats.files,
      insertions: x.stats.insertions,
      deletions: x.stats.deletions,
      diff: x.diff,
      patchLink: `Reviews/${x.taskId}.patch`,
      permissionDenials: x.denials,
    }),
    x.scratch,
  );
  const noteEdits = { ...statEdits(x.headCommit, x.stats, x.gates), review: wikilink(review.link) };
  const failed = x.gates.filter((g) => !g.ok);
  if (failed.length) {
    const error = x.gateError(failed.map((g) => g.name).join(', '), gatesSummary(failed));
    return { journal: { ...stepFailure('GATE_FAILED', error, false, x.sessionId), noteEdits }, permissionDenials: x.denials };
  }
  const needsReview = x.denials.length > 0 || ctx.config.workspace.review === 'always';
  const result = x.summary?.trim();
  return { journal: { ...(x.sessionId ? { sessionId: x.sessionId } : {}), noteEdits, needsReview, ...(result ? { result: clip(result, RESULT_MAX_CHARS) } : {}) }, permissionDenials: x.denials };
}

/** The note's keys for a commit and its gates. */
export function statEdits(headCommit: string, stats: { filesChanged: number; insertions: number; deletions: number }, gates: readonly GateResult[]): Record<string, string | number> {
  return { head_commit: headCommit, files_changed: stats.filesChanged, insertions: stats.insertions, deletions: stats.deletions, ...(gates.length ? { gate_results: gatesSummary(gates) } : {}) };
}

/** The steps after a run threw: typed git failures say whether another attempt may help;
 *  anything else is worth one more try. */
export function stepsFailed(ctx: EngineContext, taskId: string, after: string, err: unknown, sessionId: string | undefined, denials: string[]): AfterAgent {
  ctx.logger.error({ component: 'executor', task: taskId, err }, `${taskId}: the steps after ${after} failed: ${shortMessage(err)}`);
  const retryable = err instanceof VaultrunnerError ? err.retryable : true;
  const code = err instanceof VaultrunnerError ? err.code : 'WORKSPACE_FAILED';
  return { journal: stepFailure(code, `after ${after}: ${shortMessage(err)}`, retryable, sessionId), permissionDenials: denials };
}

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
