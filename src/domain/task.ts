// What a task is: validation of a note's frontmatter into a typed Task, or a list of problems a
// person can act on (key, value, what is expected). Unknown keys are allowed and left alone. Pure.
import { parseDuration } from '../config/duration.js';
import { PERMISSION_MODES, type PermissionMode } from '../config/permission-modes.js';
import { parseLink } from './links.js';
import * as f from './task-fields.js';
import { PRIORITIES, STATUSES, type Priority, type Status } from './status.js';

export { linkName } from './links.js';

export interface Task {
  id: string;
  type: string;
  status: Status;
  title?: string;
  priority: Priority;
  due?: string;
  blockedBy: string[];
  workingDir?: string;
  branch?: string;
  /** The branch a worktree forks from (default: the one checked out in working_dir). */
  baseBranch?: string;
  /** In-place mode only: run even if the checkout has uncommitted changes. */
  allowDirty: boolean;
  /** A subset of the operator's GATES (a note can never add one). */
  gates?: string[];
  agent?: string;
  model?: string;
  permissionMode?: PermissionMode;
  timeoutMs?: number;
  maxAttempts?: number;
  /** Spend cap for one run in USD (`budget_usd`); the operator's MAX_BUDGET_USD caps it. */
  budgetUsd?: number;
  requiresReview: boolean;
  requiresApproval: boolean;
  approved: boolean;
  plan?: string;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  sessionId?: string;
  costUsd?: number;
  error?: string;
  runLog?: string;
  /** When the task was created (`created`, set once); any text a person wrote is kept as is. */
  created?: string;
}

export interface Problem {
  key: string;
  value: unknown;
  expected: string;
}

export type Validation = { ok: true; task: Task } | { ok: false; problems: Problem[]; partial: Partial<Task> };

/** A note may ask for at most this much time per run (a 400-digit timeout was once Infinity). */
export const MAX_TASK_TIMEOUT_MS = 24 * 3_600_000;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/;

const FIELDS = {
  type: f.requiredName,
  status: f.optOneOf(STATUSES),
  title: f.optText,
  priority: f.optOneOf(PRIORITIES),
  due: f.optMatching(DATE_TIME),
  blocked_by: f.optTextOrList,
  working_dir: f.optText,
  branch: f.optText,
  base_branch: f.optText,
  allow_dirty: f.optBool,
  gates: f.optList,
  agent: f.optText,
  model: f.optText,
  permission_mode: f.optOneOf(PERMISSION_MODES),
  timeout: f.optDuration(MAX_TASK_TIMEOUT_MS),
  max_attempts: f.optInt(1, 100),
  budget_usd: f.optNumber(0, false),
  requires_review: f.optBool,
  requires_approval: f.optBool,
  approved: f.optBool,
  plan: f.optText,
  attempts: f.optInt(0),
  started_at: f.optText,
  finished_at: f.optText,
  session_id: f.optText,
  cost_usd: f.optNumber(0, true),
  error: f.optText,
  run_log: f.optText,
  created: f.optText,
} as const satisfies Record<string, f.Check>;
const KEYS = Object.keys(FIELDS) as (keyof typeof FIELDS)[];
const CHECKS = KEYS.map((k) => FIELDS[k] as f.Check);
// Every key present from the start: a copy has one fixed shape (29 keys added one by one made a
// dictionary, most of validateTask's allocation when every note is read).
const NO_VALUES = Object.fromEntries(KEYS.map((k) => [k, undefined])) as Record<keyof typeof FIELDS, unknown>;

const EXPECTED: Record<keyof typeof FIELDS, string> = {
  type: 'a task type, e.g. claude_code (required)',
  status: `one of ${STATUSES.join(', ')}`,
  title: 'text',
  priority: `one of ${PRIORITIES.join(', ')}`,
  due: 'a date YYYY-MM-DD or date-time YYYY-MM-DDTHH:mm',
  blocked_by: 'a task name or a list of names / "[[wikilinks]]"',
  working_dir: 'a directory path',
  branch: 'a branch name',
  base_branch: 'a branch name',
  allow_dirty: 'true or false',
  gates: 'a list of gate names from the config, e.g. [test]',
  agent: 'an agent name from the config',
  model: 'a model name',
  permission_mode: `one of ${PERMISSION_MODES.join(', ')}`,
  timeout: 'a duration like 30s, 10m or 1h, at most 24h',
  max_attempts: 'a whole number from 1 to 100',
  budget_usd: 'a positive number of US dollars, e.g. 2.5',
  requires_review: 'true or false',
  requires_approval: 'true or false',
  approved: 'true or false',
  plan: 'a link to the plan note',
  attempts: 'a whole number, 0 or more',
  started_at: 'a date-time',
  finished_at: 'a date-time',
  session_id: 'text',
  cost_usd: 'a number, 0 or more',
  error: 'text',
  run_log: 'a link to the run transcript',
  created: 'a date-time',
};

export function validateTask(id: string, data: Record<string, unknown>): Validation {
  const problems: Problem[] = [];
  const v = { ...NO_VALUES };
  for (let i = 0; i < KEYS.length; i++) {
    const key = KEYS[i]!;
    const raw = data[key];
    const r = CHECKS[i]!(raw);
    if (r === f.BAD) problems.push({ key, value: raw, expected: EXPECTED[key] });
    else v[key] = r;
  }
  const blocked = v.blocked_by as string | string[] | null | undefined;
  const blockedRefs = blocked == null ? [] : (Array.isArray(blocked) ? blocked : [blocked]).filter((b) => b.trim() !== '').map(parseLink);
  const badLink = blockedRefs.find((r) => !r.ok);
  if (badLink && !badLink.ok) problems.push({ key: 'blocked_by', value: data.blocked_by, expected: `task names or "[[wikilinks]]" inside the vault (${badLink.reason})` });
  const partial: Partial<Task> = {
    id,
    type: typeof v.type === 'string' ? v.type : undefined,
    status: (v.status as Status | null | undefined) ?? 'new',
    title: (v.title as string | null | undefined) ?? undefined,
    priority: (v.priority as Priority | null | undefined) ?? 'medium',
    due: (v.due as string | null | undefined) ?? undefined,
    blockedBy: blockedRefs.length ? blockedRefs.flatMap((r) => (r.ok ? [r.name] : [])) : [],
    workingDir: (v.working_dir as string | null | undefined) ?? undefined,
    branch: (v.branch as string | null | undefined) ?? undefined,
    baseBranch: (v.base_branch as string | null | undefined) ?? undefined,
    allowDirty: Boolean(v.allow_dirty),
    gates: (v.gates as string[] | null | undefined) ?? undefined,
    agent: (v.agent as string | null | undefined) ?? undefined,
    model: (v.model as string | null | undefined) ?? undefined,
    permissionMode: (v.permission_mode as PermissionMode | null | undefined) ?? undefined,
    timeoutMs: v.timeout == null ? undefined : parseDuration(v.timeout as string | number),
    maxAttempts: (v.max_attempts as number | null | undefined) ?? undefined,
    budgetUsd: (v.budget_usd as number | null | undefined) ?? undefined,
    requiresReview: Boolean(v.requires_review),
    requiresApproval: Boolean(v.requires_approval),
    approved: Boolean(v.approved),
    plan: (v.plan as string | null | undefined) ?? undefined,
    attempts: (v.attempts as number | null | undefined) ?? 0,
    startedAt: (v.started_at as string | null | undefined) ?? undefined,
    finishedAt: (v.finished_at as string | null | undefined) ?? undefined,
    sessionId: (v.session_id as string | null | undefined) ?? undefined,
    costUsd: (v.cost_usd as number | null | undefined) ?? undefined,
    error: (v.error as string | null | undefined) ?? undefined,
    runLog: (v.run_log as string | null | undefined) ?? undefined,
    created: (v.created as string | null | undefined) ?? undefined,
  };
  if (partial.blockedBy?.includes(id)) problems.push({ key: 'blocked_by', value: data.blocked_by, expected: 'other tasks (a task cannot wait on itself)' });
  if (problems.length > 0) return { ok: false, problems, partial };
  return { ok: true, task: partial as Task };
}

/** One line per problem, for `error:` (kept short) and logs. */
export function describeProblems(problems: Problem[]): string {
  return problems
    .map((p) => `${p.key}: ${p.value === undefined ? 'missing' : JSON.stringify(p.value)?.slice(0, 60)} (expected ${p.expected})`)
    .join('; ');
}
