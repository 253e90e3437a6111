// The steps after a successful agent run in git: commit everything on the task branch, run the
// operator's gates (a failing gate goes back to the same agent session, up to MAX_FIX_ROUNDS),
// write the review note, and say what the note records and whether a person must review.
import { capabilitiesOf, type AgentOutcome, type AgentSuccess } from '../../agents/agent.js';
import { clampPermissionMode } from '../../agents/permission.js';
import { commandsForRepo } from '../../config/workspace-config.js';
import { validateTask, type Task } from '../../domain/task.js';
import type { EngineContext } from '../../engine/context.js';
import type { LiveRun } from '../../engine/run-registry.js';
import { shortMessage } from '../../errors.js';
import { faultPoint } from '../../fault.js';
import { RUN_MARKER_ENV } from '../../os/process.js';
import { commitAll, type CommitResult, type DiffCapture } from '../../workspace/commit.js';
import { fixPrompt, gatesSummary, runGates, selectGates, type GateResult } from '../../workspace/gates.js';
import type { OpenedWorkspace } from '../../workspace/open.js';
import { patchScratchPath, reviewAndJournal, statEdits, stepFailure, stepsFailed, type AfterAgent } from './review-writer.js';

const DIFF_MAX_CHARS = 60_000;

export type { AfterAgent };

export async function afterAgent(ctx: EngineContext, r: LiveRun, first: AgentSuccess, ws: OpenedWorkspace): Promise<AfterAgent> {
  const read = await ctx.store.read(r.path).catch(() => undefined);
  const v = read?.ok ? validateTask(r.taskId, read.data) : undefined;
  const task = v?.ok ? v.task : undefined;
  const body = read?.ok ? read.body : '';
  const wc = ctx.config.workspace;
  let o: AgentSuccess = first;
  let summary = first.result;
  const denials = [...first.permissionDenials];
  try {
    const scratch = await patchScratchPath(ctx, r.taskId);
    const commit = async () =>
      commitAll({ cwd: ws.root, baseCommit: ws.baseCommit, title: task?.title ?? r.taskId, summary, taskId: r.taskId, author: wc.author, ownWorktree: ws.mode === 'worktree', ...(ws.mode === 'worktree' ? { branch: ws.branch } : {}), commonDir: ws.commonDir, ...(ws.configDigest ? { configDigest: ws.configDigest } : {}), capture: { maxChars: DIFF_MAX_CHARS, patchPath: scratch } });
    let c: CommitResult & { diff?: DiffCapture } = await commit();
    faultPoint('after-commit');
    r.transcript?.note(c.committed ? `Committed ${c.headCommit.slice(0, 10)} on ${ws.branch}: ${c.filesChanged} file(s), +${c.insertions} −${c.deletions}.` : `Nothing new to commit on ${ws.branch}.`);

    // Gates: the operator's, for this repository; a note only narrows them.
    const gates = selectGates(commandsForRepo(wc, ws.repoRoot).gates, task?.gates);
    let results: GateResult[] = [];
    let rounds = 0;
    const canResume = capabilitiesOf(r.agent).resume;
    for (;;) {
      results = await runGates({ gates, cwd: ws.cwd, timeoutMs: wc.gateTimeoutMs, killGraceMs: ctx.config.killGraceMs, env: { [RUN_MARKER_ENV]: r.lease.token, VAULTRUNNER_TASK_ID: r.taskId }, onSpawn: () => faultPoint('during-gate'), onResult: (g) => r.transcript?.note(`Gate ${g.name}: ${g.ok ? 'passed' : 'failed'} (${g.durationMs} ms).`) });
      const failed = results.filter((g) => !g.ok);
      const session = o.sessionId ?? r.session.id;
      if (failed.length === 0 || rounds >= wc.maxFixRounds || !canResume || !session) break;
      rounds++;
      r.transcript?.note(`Fix round ${rounds} of ${wc.maxFixRounds}: ${gatesSummary(failed)}.`);
      const fix = await fixRound(ctx, r, task, ws, session, fixPrompt(failed, rounds, wc.maxFixRounds));
      if (!fix.ok) return { journal: { ...stepFailure(fix.error.code, `fix round ${rounds}: ${shortMessage(fix.error)}`, fix.error.retryable, fix.sessionId), noteEdits: statEdits(c.headCommit, c, results) }, permissionDenials: denials };
      o = fix;
      if (fix.result) summary = fix.result;
      denials.push(...fix.permissionDenials);
      c = await commit();
    }

    return await reviewAndJournal(ctx, {
      taskId: r.taskId,
      title: task?.title,
      body,
      summary,
      sessionId: o.sessionId,
      branch: ws.branch,
      baseBranch: ws.baseBranch,
      baseCommit: ws.baseCommit,
      headCommit: c.headCommit,
      gates: results,
      fixRounds: rounds,
      stats: c,
      diff: c.diff ?? { text: '', truncated: false, bytes: 0 },
      denials,
      scratch,
      gateError: (names, summary) => `gate ${names} failed${rounds ? ` after ${rounds} fix round(s)` : ''}: ${summary}; branch ${ws.branch} and its worktree are kept`,
    });
  } catch (err) {
    return stepsFailed(ctx, r.taskId, 'the agent', err, o.sessionId, denials);
  }
}

/** One fix round: the same session, resumed with the failing gates' output; same cwd, marker and transcript. */
async function fixRound(ctx: EngineContext, r: LiveRun, task: Task | undefined, ws: OpenedWorkspace, session: string, prompt: string): Promise<AgentOutcome> {
  const run = r.agent.start({
    taskId: r.taskId,
    attempt: r.attempt,
    prompt,
    cwd: ws.cwd,
    model: task?.model,
    permissionMode: clampPermissionMode(task?.permissionMode, ctx.config.permissionMode),
    resumeSessionId: session,
    env: ctx.runs.envFor(r as never),
    onRawLine: (line) => r.transcript?.onRawLine(line),
    onEvent: (ev) => r.transcript?.onEvent(ev),
  });
  return run.outcome;
}
