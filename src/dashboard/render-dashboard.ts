// Dashboard.md as a pure function of its data: counts, running tasks, the queue in dispatch order,
// what waits for a person, recent done/failed, and problems. Every link is a path wikilink
// (`[[Needs_Action/x|x]]`) so it resolves even when two notes share a name; a name that cannot be
// a link target (`#^[]|` in it) is shown as code instead. Nothing here depends on the clock except
// the "Updated" line, which `stripVolatile` removes for change detection.
import { describeWait, type WaitReason } from '../domain/readiness.js';
import { STATUSES, type Status } from '../domain/status.js';
import { clip, code, escapeText } from '../runs/markdown-safe.js';

export interface NoteRef {
  id: string;
  /** Vault-relative path without `.md`, e.g. `Needs_Action/fix-login`. */
  note: string;
}

export interface RunningItem extends NoteRef {
  agent?: string;
  attempt?: number;
  startedAt?: number;
  /** Vault-relative link target of the live transcript, e.g. `Logs/runs/x/attempt-1`. */
  transcript?: string;
  /** True when the note says `executing` but this service runs nothing for it (another host, or a crash). */
  foreign?: boolean;
  /** An agent planner writing the task's plan. */
  planning?: boolean;
}

export interface QueueItem extends NoteRef {
  status: 'draft' | 'new' | 'planned';
  priority: string;
  due?: string;
  /** The one readiness verdict (domain/readiness.ts): ready to run, to be planned, waiting (with
   *  its reason) or a problem. */
  state: 'ready' | 'planning' | 'waiting' | 'problem';
  reason?: WaitReason;
  /** Links for a dependency wait. */
  waitingOn?: { id: string; note?: string }[];
  problem?: string;
}

export interface PersonItem extends NoteRef {
  status: 'awaiting_approval' | 'in_review' | 'paused';
  plan?: string;
}

export interface DoneItem extends NoteRef {
  status?: string;
  at: number;
}

export interface FailedItem extends NoteRef {
  error?: string;
  finishedAt?: string;
  transcript?: string;
}

export interface ProblemItem {
  /** The note concerned, if any. */
  ref?: NoteRef;
  text: string;
}

export interface DashboardData {
  now: number;
  counts: Partial<Record<Status | 'invalid' | 'unreadable', number>>;
  /** Notes filed in Done/ (undefined when not counted). */
  doneFolder?: number;
  running: RunningItem[];
  queue: QueueItem[];
  /** Queued tasks after the rows shown (counted, not listed). */
  queueMore?: number;
  person: PersonItem[];
  recentDone: DoneItem[];
  /** Why the recent-done list is empty or partial, e.g. Done/ is too big to scan. */
  recentDoneNote?: string;
  failed: FailedItem[];
  problems: ProblemItem[];
}

const UPDATED_PREFIX = '*Updated ';

/** The dashboard text without what changes on every render (the "Updated" line). */
export function stripVolatile(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith(UPDATED_PREFIX))
    .join('\n');
}

export function renderDashboard(d: DashboardData, opts: { updatedAt: number }): string {
  const out: string[] = [];
  out.push('# vaultrunner', '');
  out.push(`${UPDATED_PREFIX}${stamp(opts.updatedAt)} by the vaultrunner service. This note is rewritten when tasks change; edits to it are overwritten.*`, '');

  out.push('## Tasks', '', '| status | tasks |', '| --- | ---: |');
  for (const s of STATUSES) out.push(`| ${s} | ${d.counts[s] ?? 0} |`);
  if (d.counts.invalid) out.push(`| invalid | ${d.counts.invalid} |`);
  if (d.counts.unreadable) out.push(`| unreadable | ${d.counts.unreadable} |`);
  if (d.doneFolder !== undefined) out.push(`| filed in Done/ | ${d.doneFolder} |`);
  out.push('');

  out.push(`## Running (${d.running.length})`, '');
  if (d.running.length === 0) out.push('*Nothing is running.*');
  for (const r of d.running) {
    const bits = [r.foreign ? 'executing, but not by this service (another host, or a run that was interrupted)' : undefined];
    if (!r.foreign) {
      bits.push([r.agent ? escapeText(r.agent) : undefined, r.planning ? 'planning' : r.attempt ? `attempt ${r.attempt}` : undefined].filter(Boolean).join(', ') || undefined);
      bits.push(r.startedAt !== undefined ? `started ${clock(r.startedAt)}, ${elapsed(d.now - r.startedAt)}` : 'starting');
    }
    if (r.transcript) bits.push(link(r.transcript, 'live transcript'));
    out.push(`- ${ref(r)} — ${bits.filter(Boolean).join(' · ')}`);
  }
  out.push('');

  out.push(`## Queue (${d.queue.length + (d.queueMore ?? 0)})`, '', '*In dispatch order: priority, then due date, then age.*', '');
  if (d.queue.length === 0) out.push('*The queue is empty.*');
  d.queue.forEach((q, i) => out.push(`${i + 1}. ${ref(q)} — ${escapeText(q.priority)}${q.due ? `, due ${escapeText(q.due)}` : ''} · ${queueState(q)}`));
  if (d.queueMore) out.push('', `*…and ${d.queueMore} more after these; \`vaultrunner list\` shows them all.*`);
  out.push('');

  out.push(`## Waiting for you (${d.person.length})`, '');
  if (d.person.length === 0) out.push('*Nothing waits for approval or review.*');
  for (const p of d.person) {
    const what = p.status === 'awaiting_approval' ? 'awaiting approval: set `approved: true` to run it' : p.status === 'in_review' ? 'in review: set `status: done` when it is good' : 'paused: set `status: planned` to resume';
    out.push(`- ${ref(p)} — ${what}${p.plan ? ` · ${link(p.plan, 'plan')}` : ''}`);
  }
  out.push('');

  out.push('## Recently done', '');
  if (d.recentDone.length === 0) out.push(d.recentDoneNote ? `*${escapeText(d.recentDoneNote)}*` : '*Nothing yet.*');
  else if (d.recentDoneNote) out.push(`*${escapeText(d.recentDoneNote)}*`, '');
  for (const x of d.recentDone) out.push(`- ${ref(x)} — ${x.status && x.status !== 'done' ? `${escapeText(x.status)}, ` : ''}${stamp(x.at)}`);
  out.push('');

  out.push(`## Failed (${d.failed.length})`, '');
  if (d.failed.length === 0) out.push('*No failed tasks.*');
  for (const f of d.failed) {
    const bits = [f.finishedAt ? escapeText(f.finishedAt.replace('T', ' ')) : undefined, f.error ? escapeText(clip(f.error, 200)) : undefined, f.transcript ? link(f.transcript, 'transcript') : undefined];
    out.push(`- ${ref(f)} — ${bits.filter(Boolean).join(' · ') || 'failed'}`);
  }
  out.push('');

  out.push(`## Problems (${d.problems.length})`, '');
  if (d.problems.length === 0) out.push('*None.*');
  for (const p of d.problems) out.push(`- ${p.ref ? `${ref(p.ref)} — ` : ''}${escapeText(clip(p.text, 300))}`);
  out.push('');
  return out.join('\n');
}

/** The same words `list` and `show` use (domain/readiness.ts describeWait), with links. */
function queueState(q: QueueItem): string {
  switch (q.state) {
    case 'ready':
      return 'ready';
    case 'planning':
      return 'being planned';
    case 'problem':
      return `cannot start: ${escapeText(clip(q.problem ?? 'unknown problem', 200))}`;
    case 'waiting':
      if (!q.reason) return 'waiting';
      if (q.reason.kind === 'dependency') return `blocked by ${(q.waitingOn ?? q.reason.on.map((id) => ({ id, note: undefined }))).map((w) => (w.note ? link(w.note, w.id) : escapeText(w.id))).join(', ')}`;
      return escapeText(describeWait(q.reason, clock));
  }
}

function ref(r: NoteRef): string {
  return link(r.note, r.id);
}

/** `[[target|alias]]`, or inline code when the target holds characters a wikilink cannot. */
export function link(target: string, alias: string): string {
  if (/[#^[\]|\n\r]/.test(target)) return code(`${target}.md`);
  const a = alias.replace(/[\r\n]+/g, ' ').replace(/\|/g, '¦').replace(/\]\]/g, '] ]').replace(/\[\[/g, '[ [');
  return `[[${target}|${a}]]`;
}

const p2 = (n: number) => String(n).padStart(2, '0');

function clock(ms: number): string {
  const d = new Date(ms);
  return `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

function stamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}`;
}

/** Whole minutes, so a render within the same minute is identical. */
function elapsed(ms: number): string {
  const m = Math.floor(Math.max(0, ms) / 60_000);
  if (m < 1) return 'under a minute';
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${p2(m % 60)} min`;
}
