// The steps after a successful remote run: the worker committed, pushed the task branch and ran
// the gates the job named; here the branch is fetched into the person's repository (so diff,
// review and MERGE work on it as on a local worktree's branch), the review note is written and
// the note's keys are said, exactly as after a local run.
import type { AgentSuccess } from '../../agents/agent.js';
import { validateTask } from '../../domain/task.js';
import type { EngineContext } from '../../engine/context.js';
import type { LiveRun } from '../../engine/run-registry.js';
import type { RemoteOutcome } from '../../queue/run-stream.js';
import { captureDiff, changeStats } from '../../workspace/commit.js';
import type { GateResult } from '../../workspace/gates.js';
import { fetchTaskBranch } from '../../workspace/remote.js';
import type { RemotePlan } from '../remote-run.js';
import { patchScratchPath, reviewAndJournal, stepFailure, stepsFailed, type AfterAgent } from './review-writer.js';

const DIFF_MAX_CHARS = 60_000;

export async function afterRemote(ctx: EngineContext, r: LiveRun, o: AgentSuccess & RemoteOutcome, plan: RemotePlan): Promise<AfterAgent> {
  const denials = [...o.permissionDenials];
  const rem = o.remote;
  if (!rem?.pushed || !rem.headCommit) {
    // The work is on the worker (its worktree is kept there when a commit could not be pushed).
    const why = rem?.handBackError ?? 'it reported no commit';
    return { journal: stepFailure('GIT_FAILED', `worker ${rem?.worker ?? '?'} could not push branch ${plan.branch}: ${why}`, true, o.sessionId), permissionDenials: denials };
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
    return await reviewAndJournal(ctx, {
      taskId: r.taskId,
      title: task?.title,
      body: read?.ok ? read.body : '',
      summary: o.result,
      sessionId: o.sessionId,
      branch: plan.branch,
      baseBranch: plan.baseBranch,
      baseCommit: plan.baseCommit,
      headCommit: head,
      gates,
      stats,
      diff,
      denials,
      scratch,
      gateError: (names, summary) => `gate ${names} failed on worker ${rem.worker}: ${summary}; branch ${plan.branch} is kept`,
    });
  } catch (err) {
    return stepsFailed(ctx, r.taskId, 'the remote run', err, o.sessionId, denials);
  }
}
