// The one answer to "can this task take its next step now, and if not, why?". The executor, the
// orchestrator, `list`, `show`, Dashboard.md (and later the web view) all call `readiness()` with
// facts gathered the same way (engine/wait-facts.ts), so they can never disagree. Pure.
import { judgeDependencies, type DependencyStatus } from './dependencies.js';
import type { Status } from './status.js';

/** The line the bundled task template puts in the body; a note still holding it is being written. */
export const TEMPLATE_PLACEHOLDER = 'Describe the task here: what to change, where, and why.';

export function isPlaceholderBody(body: string): boolean {
  // Only a body holding the sentence at all is split into lines (nearly every body does not).
  return body.includes(TEMPLATE_PLACEHOLDER) && body.split(/\r?\n/).some((l) => l.trim() === TEMPLATE_PLACEHOLDER);
}

export type WaitReason =
  /** `status: draft`, or a body that is still the template's placeholder. */
  | { kind: 'draft'; why: 'status' | 'placeholder' }
  | { kind: 'paused' }
  | { kind: 'approval' }
  | { kind: 'review' }
  | { kind: 'dependency'; on: string[] }
  /** Retry (or planning retry) backoff. */
  | { kind: 'backoff'; until: number }
  | { kind: 'agent_unavailable'; agent: string; detail: string }
  | { kind: 'working_dir_busy'; dir: string; by: string }
  | { kind: 'slot'; running: number; max: number };

export type Readiness =
  /** The service may take the next step now: write the plan, or start a run. */
  | { kind: 'ready'; step: 'plan' | 'release' | 'run' }
  | { kind: 'waiting'; reason: WaitReason }
  /** It can never proceed as it is: a person must change something. */
  | { kind: 'problem'; problem: string }
  /** A run holds it now. */
  | { kind: 'running' }
  /** Nothing is left for the service to do (failed, done, cancelled). */
  | { kind: 'idle' };

export interface ReadinessInput {
  id: string;
  status: Status;
  folder: 'Needs_Action' | 'Pending_Approval' | 'Done';
  body: string;
  /** Its type is in EXECUTOR_TYPES. */
  whitelisted: boolean;
  approved: boolean;
  blockedBy: readonly string[];
  dependencyStatus: (name: string) => DependencyStatus;
  cycle?: readonly string[];
  now: number;
  /** No run (or planning) before this time. */
  notBefore?: number;
  planNotBefore?: number;
  /** Planning gave up on this exact content; a person's edit is needed. */
  planGaveUp?: string;
  /** Planning needs an agent (PLANNER=agent) and so a run slot. */
  plannerUsesAgent: boolean;
  /** The agent that would run it: its name and last known health (undefined: not probed yet). */
  agent: { name: string; health?: { ok: boolean; detail: string } };
  /** The working-dir key (dispatch.dirKey) and which task holds each busy one. */
  dirKey: string;
  busyDirs: ReadonlyMap<string, string>;
  running: { count: number; max: number; has: (id: string) => boolean };
}

const wait = (reason: WaitReason): Readiness => ({ kind: 'waiting', reason });

export function readiness(t: ReadinessInput): Readiness {
  if (t.running.has(t.id) || t.status === 'executing') return { kind: 'running' };
  switch (t.status) {
    case 'draft':
      return wait({ kind: 'draft', why: 'status' });
    case 'paused':
      return wait({ kind: 'paused' });
    case 'awaiting_approval':
      return t.approved ? { kind: 'ready', step: 'release' } : wait({ kind: 'approval' });
    case 'in_review':
      return wait({ kind: 'review' });
    case 'failed':
    case 'done':
    case 'cancelled':
      return { kind: 'idle' };
    case 'new':
      return planReadiness(t);
    case 'planned':
      return runReadiness(t);
  }
}

function planReadiness(t: ReadinessInput): Readiness {
  if (isPlaceholderBody(t.body)) return wait({ kind: 'draft', why: 'placeholder' });
  if (t.planGaveUp) return { kind: 'problem', problem: t.planGaveUp };
  if (t.planNotBefore !== undefined && t.planNotBefore > t.now) return wait({ kind: 'backoff', until: t.planNotBefore });
  if (t.plannerUsesAgent) {
    const busy = capacity(t, false);
    if (busy) return busy;
  }
  return { kind: 'ready', step: 'plan' };
}

function runReadiness(t: ReadinessInput): Readiness {
  if (isPlaceholderBody(t.body)) return wait({ kind: 'draft', why: 'placeholder' });
  if (!t.whitelisted && !t.approved) return wait({ kind: 'approval' });
  const deps = judgeDependencies(t.blockedBy, t.dependencyStatus, t.cycle);
  if (deps.kind === 'problem') return { kind: 'problem', problem: deps.problem };
  if (deps.kind === 'waiting') return wait({ kind: 'dependency', on: deps.on });
  if (t.notBefore !== undefined && t.notBefore > t.now) return wait({ kind: 'backoff', until: t.notBefore });
  return capacity(t, true) ?? { kind: 'ready', step: 'run' };
}

/** Agent health, the working dir and a free slot: what a run (or an agent planner) needs. */
function capacity(t: ReadinessInput, needsDir: boolean): Readiness | undefined {
  if (t.agent.health && !t.agent.health.ok) return wait({ kind: 'agent_unavailable', agent: t.agent.name, detail: t.agent.health.detail });
  const holder = needsDir ? t.busyDirs.get(t.dirKey) : undefined;
  if (holder !== undefined && holder !== t.id) return wait({ kind: 'working_dir_busy', dir: t.dirKey, by: holder });
  if (t.running.count >= t.running.max) return wait({ kind: 'slot', running: t.running.count, max: t.running.max });
  return undefined;
}

/** One short phrase per reason, the same words in `list`, `show` and Dashboard.md. */
export function describeWait(r: WaitReason, clock: (ms: number) => string): string {
  switch (r.kind) {
    case 'draft':
      return r.why === 'status' ? 'draft' : 'draft (body is the template placeholder)';
    case 'paused':
      return 'paused';
    case 'approval':
      return 'approval';
    case 'review':
      return 'review';
    case 'dependency':
      return `blocked by ${r.on.join(', ')}`;
    case 'backoff':
      return `backoff until ${clock(r.until)}`;
    case 'agent_unavailable':
      return `agent ${r.agent} unavailable`;
    case 'working_dir_busy':
      return `working dir busy (${r.by})`;
    case 'slot':
      return `slot (${r.running}/${r.max} running)`;
  }
}

/** A verdict in one short phrase (`list`'s WAITING column, `show`): `queued` means ready to run. */
export function readinessText(r: Readiness, clock: (ms: number) => string): string | null {
  switch (r.kind) {
    case 'ready':
      return r.step === 'plan' ? 'planning' : 'queued';
    case 'waiting':
      return describeWait(r.reason, clock);
    case 'problem':
      return 'blocked';
    case 'running':
      return 'running';
    case 'idle':
      return null;
  }
}
