// The steps after a successful remote run: the worker committed, pushed the task branch and ran
// the gates the job named; here the branch is fetched into the person's repository (so diff,
// review and MERGE work on it as on a local worktree's branch), the review note is written and
// the note's keys are said, exactly as after a local run.
import type { AgentSuccess } from '../../agents/agent.js';
import { obsidianDateTime } from '../../clock.js';
import type { RunOutcome } from '../../domain/outcome.js';
import { validateTask } from '../../domain/task.js';
import type { EngineContext } from '../../engine/context.js';
import type { LiveRun } from '../../engine/run-registry.js';
import { shortMessage, VaultrunnerError } from '../../errors.js';
import type { RemoteOutcome } from '../../queue/run-stream.js';
import { clip } from '../../runs/markdown-safe.js';
import { RESULT_MAX_CHARS } from '../../runs/result-section.js';
import { acceptanceCriteria, criteriaClaims, renderReviewNote } from '../../runs/review-note.js';
import { wikilink } from '../../vault/layout.js';
import { captureDiff, changeStats } from '../../workspace/commit.js';
import { gatesSummary, type GateResult } from '../../workspace/gates.js';
import { fetchTaskBranch } from '../../workspace/remote.js';
import type { RemotePlan } from '../remote-run.js';
import type { AfterAgent } from './after-agent.js';
import { patchScratchPath, writeReview } from './review-writer.js';

const DIFF_MAX_CHARS = 60_000;

const failure = (code: string, message: string, retryable: boolean, sessionId?: string): Partial<RunOutcome> => ({ ok: false, code, message: shortMessage(message, 300), retryable, ...(sessionId ? { sessionId } : {}) });

export async function afterRemote(ctx: EngineContext, r: LiveRun, o: AgentSuccess & RemoteOutcome, plan: RemotePlan): Promise<AfterAgent> {
  const denials = [...o.permissionDenials];
  const rem = o.remote;
  if (!rem?.pushed || !rem.headCommit) {
    // The work is on the worker (its worktree is kept there when a commit could not be pushed).
    const why = rem?.handBackError ?? 'it reported no commit';
    return { journal: failure('GIT_FAILED', `worker ${rem?.worker ?? '?'} could not push branch ${plan.branch}: ${why}`, true, o.sessionId), permissionDenials: denials };
  }
  const head = rem.headCommit;
  try {
    await fetchTaskBranch(plan.repoRoot, plan.remoteUrl, plan.branch, head);
    r.transcript?.note(`Worker ${rem.worker} pushed ${head.slice(0, 10)} on ${plan.branch}; fetched into ${plan.repoRoot}.`);
    const read = await ctx.store.read(r.path).catch(() => undefined);
    const v = read?.ok ? validateTask(r.taskId, read.data) : undefined;
    const task = v?.ok ? v.task : undefined;
    const scratch = await patchScratchPath(ctx, r.taskId);
    const stats = await changeStats(plan.repoRoot, plan.baseCommit, head);
    const diff = await captureDiff(plan.repoRoot, plan.baseCommit, head, { maxChars: DIFF_MAX_CHARS, patchPath: scratch });
    const gates: GateResult[] = (rem.gates ?? []).map((g) => ({ name: g.name, argv: [], ok: g.ok, exitCode: g.exitCode, timedOut: false, durationMs: g.durationMs, outputTail: g.tail, outputBytes: g.tail.length }));
    for (const g of gates) r.transcript?.note(`Gate ${g.name} on worker ${rem.worker}: ${g.ok ? 'passed' : 'failed'} (${g.durationMs} ms).`);
    const review = await writeReview(
      ctx,
      r.taskId,
      renderReviewNote({
        taskId: r.taskId,
        title: task?.title,
        taskLink: r.taskId,
        generatedAt: obsidianDateTime(ctx.clock.now()),
        branch: plan.branch,
        baseBranch: plan.baseBranch,
        baseCommit: plan.baseCommit,
        headCommit: head,
        criteria: criteriaClaims(acceptanceCriteria(read?.ok ? read.body : ''), o.result),
        summary: o.result,
        gates: gates.map((g) => ({ name: g.name, ok: g.ok, exitCode: g.exitCode, durationMs: g.durationMs, outputTail: g.outputTail })),
        files: stats.files,
        insertions: stats.insertions,
        deletions: stats.deletions,
        diff,
        patchLink: `Reviews/${r.taskId}.patch`,
        permissionDenials: denials,
      }),
      scratch,
    );
    const noteEdits = { head_commit: head, files_changed: stats.filesChanged, insertions: stats.insertions, deletions: stats.deletions, ...(gates.length ? { gate_results: gatesSummary(gates) } : {}), review: wikilink(review.link) };
    const failed = gates.filter((g) => !g.ok);
    if (failed.length) {
      const error = `gate ${failed.map((g) => g.name).join(', ')} failed on worker ${rem.worker}: ${gatesSummary(failed)}; branch ${plan.branch} is kept`;
      return { journal: { ...failure('GATE_FAILED', error, false, o.sessionId), noteEdits }, permissionDenials: denials };
    }
    const needsReview = denials.length > 0 || ctx.config.workspace.review === 'always';
    return { journal: { ...(o.sessionId ? { sessionId: o.sessionId } : {}), noteEdits, needsReview, ...(o.result?.trim() ? { result: clip(o.result.trim(), RESULT_MAX_CHARS) } : {}) }, permissionDenials: denials };
  } catch (err) {
    ctx.logger.error({ component: 'executor', task: r.taskId, err }, `${r.taskId}: the steps after the remote run failed: ${shortMessage(err)}`);
    const retryable = err instanceof VaultrunnerError ? err.retryable : true;
    const code = err instanceof VaultrunnerError ? err.code : 'WORKSPACE_FAILED';
    return { journal: failure(code, `after the remote run: ${shortMessage(err)}`, retryable, o.sessionId), permissionDenials: denials };
  }
}
