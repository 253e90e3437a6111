// One attempt of one task, on a slot already claimed (lease held): `executing` → agent run. The
// outcome is journaled and applied by the executor when the process ends.
import { capabilitiesOf, type Agent, type AgentOutcome, type AgentRun, type AgentRunRequest, type PermissionMode } from '../agents/agent.js';
import { obsidianDateTime } from '../clock.js';
import type { Task } from '../domain/task.js';
import type { EngineContext } from '../engine/context.js';
import type { LiveRun, RunningRun, RunStopReason, StartingRun } from '../engine/run-registry.js';
import { editIfStatus, transition } from '../engine/transition.js';
import { toRunOutcome } from '../engine/apply-outcome.js';
import { shortMessage } from '../errors.js';
import { faultPoint } from '../fault.js';
import { createRunTranscript, type RunTranscript } from '../runs/transcript.js';
import type { FieldEdits } from '../vault/frontmatter.js';
import { wikilink } from '../vault/layout.js';
import { resolveNoteLink } from '../vault/links.js';
import { recheckWorkingDir } from '../engine/working-dir.js';
import { prepareRunOutput, runOutputName } from '../engine/run-output.js';
import { unsentFeedback } from '../domain/feedback.js';
import { processStartTime, RUN_MARKER_ENV } from '../os/process.js';
import { setupThenAgent, type SetupPlan } from './pipeline/setup-step.js';
import { approvalFingerprint, needsApproval } from '../engine/approval.js';
import { feedbackPrompt, resumePrompt, taskPrompt } from './prompt.js';

/** Bodies up to this many characters ride in the run's lease (see bodyInLease). */
const LEASE_BODY_MAX = 64 * 1024;

export type { RunStopReason };
export { toRunOutcome };

export interface StartInput {
  path: string;
  task: Task;
  body: string;
  agent: Agent;
  cwd: string;
  permissionMode: PermissionMode;
  /** Recorded with the `executing` transition (the workspace's base_branch, base_commit…). */
  noteEdits?: FieldEdits;
  /** The note's budget_usd clamped by MAX_BUDGET_USD (clampBudgetUsd); undefined: no cap. */
  maxBudgetUsd?: number;
  /** The operator's SETUP for this worktree: run before the agent (skipped when done before there). */
  setup?: SetupPlan;
  /** Runs the agent somewhere else (a remote worker) instead of spawning it here: the request a
   *  local spawn would get, and the transcript. Its handle has pid 0 and no local output files. */
  launch?: (claim: StartingRun) => (req: AgentRunRequest, transcript: RunTranscript) => AgentRun;
  /** Where the prompt tells the agent it works (default: cwd). */
  where?: string;
}

/** What a run needs before its note says `executing`: none of it needs the lease, so the executor
 *  prepares it while the lease is being written. */
export interface PreparedRun {
  attempt: number;
  startedAt: number;
  prompt: string;
  transcript: RunTranscript;
  cwd: string;
  resumeSession?: string;
  followUp?: string;
  feedback?: ReturnType<typeof unsentFeedback>;
  planRefused?: string;
  output?: string;
  outputFiles?: Awaited<ReturnType<typeof prepareRunOutput>>;
  /** The agent whose session is not resumed because the task's agent changed. */
  agentChanged?: string;
}

/**
 * The prompt, the transcript (shown in the note as run_log), the output files' folder and the
 * working dir's recheck for `attempt`. Rejects (the transcript finished as not started) when the
 * working dir changed or the output files cannot be prepared.
 */
export async function prepareRun(ctx: EngineContext, input: Omit<StartInput, 'launch' | 'setup'> & { remote: boolean }, attempt: number): Promise<PreparedRun> {
  const { task } = input;
  const now = ctx.clock.now();
  const state = await ctx.taskState.get(task.id);
  // Any agent that declares resume gets its session back (command agents via VAULTRUNNER_RESUME_SESSION).
  const canResume = capabilitiesOf(input.agent).resume;
  // A review round: feedback the agent has not had goes to the session that did the work. (A
  // fresh session reads all of it in the body.)
  const feedback = unsentFeedback(input.body, state.feedbackSent ?? []);
  // A session is its agent's: after a change of `agent:` the new one starts its own (another CLI
  // refuses a foreign id, and that failure would be permanent).
  const agentChanged = state.sessionAgent !== undefined && state.sessionAgent !== input.agent.name ? state.sessionAgent : undefined;
  const ownSession = canResume && !agentChanged;
  const followUp = ownSession && !state.resumeSession && feedback && task.sessionId ? task.sessionId : undefined;
  const resumeSession = ownSession ? (state.resumeSession ?? followUp) : undefined;
  // The prompt is settled before the transcript, which shows it (collapsed) at its top.
  const plan = task.plan && !resumeSession ? await readPlanBody(ctx, task) : undefined;
  const prompt = followUp ? feedbackPrompt(feedback!.text) : resumeSession ? resumePrompt(state.bodyAtStart, input.body) : taskPrompt(task, input.body, plan?.body, input.where ?? input.cwd);
  // A remote run's output is on its worker; only a local spawn writes files a restart reads back.
  const output = input.remote ? undefined : runOutputName(task.id, attempt);
  // Independent of each other: the transcript, the output files' folder (a stale pair of this
  // attempt's name cleared) and the working dir's recheck, all at once.
  const [t, o, c] = await Promise.allSettled([
    createRunTranscript({
      prompt,
      runsDir: ctx.paths.runs,
      vaultRoot: ctx.paths.root,
      taskId: task.id,
      attempt,
      header: { agent: input.agent.name, model: task.model, workingDir: input.where ?? input.cwd, startedAt: now, resumedFrom: resumeSession, permissionMode: input.permissionMode },
      now: () => ctx.clock.now(),
    }),
    output ? prepareRunOutput(ctx.paths, output) : undefined,
    // Checked again just before the spawn, on the real path (a link swapped in since the dispatch
    // check is refused); the agent runs in this resolved path.
    recheckWorkingDir(input.cwd),
  ]);
  if (t.status === 'rejected') throw t.reason;
  const transcript = t.value;
  const notStarted = async (status: string, err: unknown): Promise<never> => {
    await transcript.finish({ status, durationMs: 0, error: shortMessage(err) });
    throw err;
  };
  if (c.status === 'rejected') return notStarted('not started (working dir changed)', c.reason);
  if (o.status === 'rejected') return notStarted('not started (its output files could not be prepared)', o.reason);
  return { attempt, startedAt: now, prompt, transcript, cwd: c.value, resumeSession, followUp, feedback, planRefused: plan?.refused, output, outputFiles: o.value, ...(agentChanged && (state.resumeSession || task.sessionId) ? { agentChanged } : {}) };
}

/** The lease went to someone else: nothing was written (internal to startRun). */
class NotClaimed extends Error {}

/**
 * Move the note to `executing` and spawn the agent; undefined if the note changed meanwhile or the
 * lease was not ours. The lease is being written meanwhile (`claiming`): the note's temp file is
 * written beside it, and renamed only once the lease is on disk (so `executing` never stands
 * without the lease a restart needs); the spawn follows both.
 */
export async function startRun(ctx: EngineContext, claiming: Promise<StartingRun | undefined>, preparing: Promise<PreparedRun>, input: StartInput, onExit: (r: LiveRun, o: AgentOutcome) => Promise<void>): Promise<RunningRun | undefined> {
  const { task } = input;
  const prepared = await preparing;
  const { attempt, transcript, cwd, resumeSession, followUp, feedback, prompt, output, outputFiles } = prepared;
  const now = prepared.startedAt;
  const leased = claiming.then((c) => {
    if (!c) throw new NotClaimed();
    faultPoint('after-claim');
    return c;
  });
  leased.catch(() => undefined); // (awaited below; a transition that throws first leaves it unawaited)
  let written;
  try {
    written = await transition(ctx, {
      path: input.path,
      taskId: task.id,
      from: 'planned',
      to: 'executing',
      actor: 'executor',
      edits: { ...input.noteEdits, attempts: attempt, started_at: obsidianDateTime(now), finished_at: undefined, error: undefined, run_log: wikilink(transcript.link) },
      log: { attempt, agent: input.agent.name, cwd: input.cwd, resume: resumeSession },
      after: leased,
    });
    // A note that changed before its rename: the lease is still awaited (the caller releases it).
    if (!written) await leased;
  } catch (err) {
    const notOurs = err instanceof NotClaimed;
    await transcript.finish({ status: notOurs ? 'not started (the task was claimed elsewhere)' : 'not started', durationMs: 0, ...(notOurs ? {} : { error: shortMessage(err) }) }).catch(() => undefined);
    if (notOurs) return undefined;
    throw err;
  }
  if (!written) {
    await transcript.finish({ status: 'not started (the note changed)', durationMs: 0 });
    return undefined;
  }
  const claim = await leased;
  // Not fatal: a state file that cannot be written now only means the next attempt is asked again.
  if (input.noteEdits) await followApproval(ctx, task, input.body, input.noteEdits).catch((err: unknown) => ctx.logger.warn({ component: 'executor', task: task.id, err }, `${task.id}: could not carry its approval over to the branches of this run: ${shortMessage(err)}`));
  // A later round must not send the same feedback again, so feedback is recorded before the spawn.
  // The body (for a later resume's "what changed") goes into the lease with the run's pid, and into
  // the task's state only if the run is interrupted: a run that just finishes writes no state file.
  // A long body is not carried through every lease renewal: it goes to the task's state now.
  const bodyInLease = !feedback && input.body.length <= LEASE_BODY_MAX;
  if (feedback) await ctx.taskState.patch(task.id, { bodyAtStart: input.body, feedbackSent: feedback.all });
  else if (!bodyInLease) await ctx.taskState.patch(task.id, { bodyAtStart: input.body }).catch((err: unknown) => ctx.logger.warn({ component: 'executor', task: task.id, err }, `${task.id}: could not remember the body this run started with: ${shortMessage(err)}`));
  if (followUp) transcript.note(`Follow-up after review: the person's feedback goes to session ${followUp}.`);
  if (prepared.planRefused) transcript.note(`Plan not included: ${prepared.planRefused}.`);
  if (prepared.agentChanged) transcript.note(`The task's agent changed from ${prepared.agentChanged} to ${input.agent.name}: a new session, with the whole task.`);
  const session: { id?: string; recording?: Promise<void> } = {};
  const request = (): AgentRunRequest => ({
    taskId: task.id,
    attempt,
    prompt,
    cwd,
    model: task.model,
    permissionMode: input.permissionMode,
    resumeSessionId: resumeSession,
    maxBudgetUsd: input.maxBudgetUsd,
    // The marker finds this run's processes after a crash, even before its pid reaches the lease.
    env: ctx.runs.envFor(claim),
    ...(outputFiles ? { outputFiles } : {}),
    onRawLine: (line) => transcript.onRawLine(line),
    onEvent: (ev) => {
      transcript.onEvent(ev);
      if (ev.kind === 'init' && !session.id) {
        session.id = ev.sessionId;
        session.recording = recordSession(ctx, claim, task, ev.sessionId);
      }
    },
  });
  const launch = input.launch?.(claim);
  const spawnAgent = () => (launch ? launch(request(), transcript) : input.agent.start(request()));
  const agentRun = input.setup
    ? setupThenAgent({
        plan: input.setup,
        killGraceMs: ctx.config.killGraceMs,
        // The marker lets crash recovery find setup's processes too; nothing else of the service's env.
        env: { [RUN_MARKER_ENV]: claim.lease.token, VAULTRUNNER_TASK_ID: task.id },
        transcript,
        spawnAgent,
        onAgentSpawned: (pid) => recordPid(ctx, claim, pid),
      })
    : spawnAgent();
  // A file-backed run's pid comes with the spawner process's answer; the lease records it.
  if (!input.setup) await agentRun.spawned;
  faultPoint('after-spawn');
  // The deadline counts from the spawn, not from the bookkeeping before it.
  return ctx.runs.started(
    claim,
    { agent: input.agent, agentRun, startedAt: ctx.clock.now(), timeoutMs: task.timeoutMs ?? ctx.config.taskTimeoutMs, transcript, session, ...(bodyInLease ? { bodyAtStart: input.body } : {}), ...(output ? { output } : {}) },
    async (r) => onExit(r, await agentRun.outcome),
  );
}

/** `branch` and `base_branch` are part of what an approval covers, and the `executing` write just
 *  recorded the ones the run uses: an approval of the note as it was follows that write (else the
 *  next attempt of an approved task would be asked again). */
async function followApproval(ctx: EngineContext, task: Task, body: string, edits: FieldEdits): Promise<void> {
  if (!needsApproval(task, ctx.config)) return;
  const next = { ...task, ...(typeof edits.branch === 'string' ? { branch: edits.branch } : {}), ...(typeof edits.base_branch === 'string' ? { baseBranch: edits.base_branch } : {}) };
  const before = approvalFingerprint(task, body);
  const after = approvalFingerprint(next, body);
  if (before !== after) await ctx.taskState.patch(task.id, (st) => (st.approvedFor === before ? { approvedFor: after, approvalAsked: after } : {}));
}

/** With a setup step the agent spawns after the lease was first written: its pid is recorded then.
 *  Set on the lease object at once, so a session id recorded meanwhile keeps it. */
function recordPid(ctx: EngineContext, claim: StartingRun, pid: number): void {
  claim.lease.run = { ...claim.lease.run, pid, pidStart: processStartTime(pid), startedAt: ctx.clock.now() };
  void ctx.leases.update(claim.lease).catch(() => false);
}

/** session_id goes into the note once, as soon as the agent reports it (resume needs it). */
async function recordSession(ctx: EngineContext, claim: StartingRun, task: Task, sessionId: string): Promise<void> {
  try {
    if (claim.lease.run) await ctx.leases.update(claim.lease, { run: { ...claim.lease.run, sessionId } });
    await ctx.taskState.patch(task.id, { resumeSession: undefined });
    if (task.sessionId !== sessionId) await editIfStatus(ctx, claim.path, task.id, ['executing'], { session_id: sessionId });
  } catch (err) {
    ctx.logger.warn({ component: 'executor', task: task.id, err }, 'could not record session id');
  }
}

/** The plan note's body, through the one link resolver: never a file outside the vault. */
async function readPlanBody(ctx: EngineContext, task: Task): Promise<{ body?: string; refused?: string }> {
  const link = await resolveNoteLink(ctx.paths, task.plan, ctx.paths.plans);
  if (!link.ok) {
    ctx.logger.warn({ component: 'executor', task: task.id, plan: task.plan }, `${task.id}: plan not read: ${link.reason}`);
    return { refused: link.reason };
  }
  const r = await ctx.store.read(link.path).catch(() => undefined);
  return r?.ok ? { body: r.body } : {};
}
