// The review note a person reads in Obsidian before accepting a task: the acceptance criteria
// with the agent's claims, its final summary, the gates' measured results, the files changed and
// the diff (capped; the full .patch beside it). Pure: text in, Markdown out. Everything that came
// from the agent, the repository or a gate is escaped or fenced so it cannot break the note.
import { clean, clip, code, escapeText, fenced, quote } from './markdown-safe.js';

export interface Criterion {
  text: string;
  /** The agent's claim: met, not met, or no claim. */
  met?: boolean;
  evidence?: string;
}

export interface ReviewGate {
  name: string;
  ok: boolean;
  exitCode: number | null;
  timedOut?: boolean;
  spawnError?: string;
  durationMs: number;
  outputTail: string;
}

export interface ReviewFile {
  path: string;
  insertions: number | null;
  deletions: number | null;
}

export interface ReviewNoteInput {
  taskId: string;
  title?: string;
  /** Link target of the task note without `.md`, e.g. `Needs_Action/fix-login`. */
  taskLink: string;
  /** When the note was written, as the caller formats dates (obsidianDateTime). */
  generatedAt: string;
  branch: string;
  baseBranch: string;
  baseCommit: string;
  headCommit: string;
  criteria: readonly Criterion[];
  summary?: string;
  gates: readonly ReviewGate[];
  /** Fix rounds the gates needed (0: passed first time). */
  fixRounds?: number;
  files: readonly ReviewFile[];
  insertions: number;
  deletions: number;
  diff: { text: string; truncated: boolean; bytes: number };
  /** Vault path of the full patch, e.g. `Reviews/fix-login.patch`. */
  patchLink?: string;
  permissionDenials?: readonly string[];
  /** Why a merge did not happen (BASE_DIRTY, MERGE_CONFLICT…), with the files involved. */
  mergeProblem?: { reason: string; files?: readonly string[] };
}

const SUMMARY_MAX = 8000;
const GATE_OUTPUT_MAX = 4000;
const FILES_MAX = 300;

const short = (sha: string) => sha.slice(0, 10);
/** A string as a YAML scalar: JSON is YAML, and JSON.stringify quotes everything that needs it. */
const yaml = (s: string) => JSON.stringify(clean(s).replace(/\n/g, ' '));

export function renderReviewNote(r: ReviewNoteInput): string {
  const title = r.title?.trim() || r.taskId;
  const gatesOk = r.gates.every((g) => g.ok);
  const out: string[] = [
    '---',
    `review_of: ${yaml(`[[${r.taskLink}]]`)}`,
    `branch: ${yaml(r.branch)}`,
    `base_branch: ${yaml(r.baseBranch)}`,
    `base_commit: ${yaml(r.baseCommit)}`,
    `head_commit: ${yaml(r.headCommit)}`,
    `gates: ${r.gates.length === 0 ? 'none' : gatesOk ? 'passed' : 'failed'}`,
    `generated: ${yaml(r.generatedAt)}`,
    '---',
    `# Review: ${escapeText(title)}`,
    '',
    `Task [[${r.taskLink}|${clean(title).replace(/[[\]|#^<>%\n]+/g, ' ').replace(/ {2,}/g, ' ').trim()}]] · branch ${code(r.branch)} from ${code(r.baseBranch)} · ${code(short(r.baseCommit))} → ${code(short(r.headCommit))}`,
    '',
  ];

  if (r.mergeProblem) {
    out.push('> [!warning] Not merged', `> ${escapeText(r.mergeProblem.reason)}`);
    for (const f of r.mergeProblem.files ?? []) out.push(`> - ${code(f)}`);
    out.push('');
  }

  out.push('## Acceptance criteria', '');
  if (r.criteria.length === 0) out.push('*The task note lists no acceptance criteria.*');
  for (const c of r.criteria) {
    const mark = c.met === true ? '✅' : c.met === false ? '❌' : '❔';
    const claim = c.met === true ? 'met' : c.met === false ? 'not met' : 'no claim';
    const evidence = c.evidence?.trim() ? ` — ${escapeText(clip(c.evidence.trim(), 500))}` : '';
    out.push(`- ${mark} ${escapeText(c.text)} · *agent: ${claim}*${evidence}`);
  }
  if (r.criteria.length) out.push('', '*The ticks are the agent’s own claims; the gates below are measured.*');
  out.push('');

  out.push('## Agent’s summary', '', r.summary?.trim() ? quote(r.summary.trim(), SUMMARY_MAX) : '*No summary.*', '');

  out.push('## Gates', '');
  if (r.gates.length === 0) out.push('*No gates are defined for this repository.*');
  else {
    out.push('| Gate | Result | Exit | Time |', '| --- | --- | --- | --- |');
    for (const g of r.gates) out.push(`| ${escapeText(g.name)} | ${g.ok ? '✅ passed' : `❌ ${g.timedOut ? 'timed out' : g.spawnError ? 'did not start' : 'failed'}`} | ${g.exitCode ?? '—'} | ${seconds(g.durationMs)} |`);
    if (r.fixRounds) out.push('', `*Passing took ${r.fixRounds} fix round${r.fixRounds === 1 ? '' : 's'} of the agent.*`);
    for (const g of r.gates.filter((x) => !x.ok)) {
      const body = clean(g.spawnError ? `could not start: ${g.spawnError}` : g.outputTail.slice(-GATE_OUTPUT_MAX)) || '(no output)';
      out.push('', `> [!failure]- ${escapeText(g.name)}: the end of its output`, ...fenced(body).split('\n').map((l) => `> ${l}`));
    }
  }
  out.push('');

  if (r.permissionDenials?.length) {
    out.push('## Permission denials', '', '*The agent was refused these; check whether the work is complete.*', '');
    for (const d of r.permissionDenials) out.push(`- ${code(clip(d, 300))}`);
    out.push('');
  }

  out.push(`## Files changed (${r.files.length}, +${r.insertions} −${r.deletions})`, '');
  if (r.files.length === 0) out.push('*No changes.*');
  for (const f of r.files.slice(0, FILES_MAX)) {
    out.push(`- ${code(f.path)} ${f.insertions === null ? '*binary*' : `+${f.insertions} −${f.deletions ?? 0}`}`);
  }
  if (r.files.length > FILES_MAX) out.push(`- *… and ${r.files.length - FILES_MAX} more (see the full patch)*`);
  out.push('');

  out.push('## Diff', '');
  if (r.diff.text.trim()) out.push(fenced(clean(r.diff.text), 'diff'));
  else out.push('*Empty.*');
  const patch = r.patchLink ? `[[${r.patchLink}|${escapeText(r.patchLink.split('/').pop() ?? r.patchLink)}]]` : undefined;
  if (r.diff.truncated) out.push('', `*The diff is cut here (${kb(Buffer.byteLength(r.diff.text))} of ${kb(r.diff.bytes)}).${patch ? ` The full patch: ${patch}` : ''}*`);
  else if (patch) out.push('', `*Full patch: ${patch}*`);
  out.push('');
  return out.join('\n');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${Math.round(bytes / 1024)} KB`;
}

/** The `- [ ]` / `- [x]` items under the note's acceptance heading (`## Acceptance criteria`, `## Acceptance`…). */
export function acceptanceCriteria(body: string): string[] {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let level = 0;
  let fence: string | undefined;
  for (const line of lines) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (!fence) fence = f[1]!;
      else if (f[1]![0] === fence[0] && f[1]!.length >= fence.length) fence = undefined;
      continue;
    }
    if (fence) continue;
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      if (level && h[1]!.length <= level) level = 0;
      if (!level && /^acceptance\b/i.test(h[2]!.trim())) level = h[1]!.length;
      continue;
    }
    const item = level ? /^\s*[-*+]\s+\[[ xX]\]\s+(.+)$/.exec(line) : null;
    if (item) out.push(item[1]!.trim());
  }
  return out;
}

/** What the agent is asked to report, appended to its prompt. */
export function criteriaPrompt(criteria: readonly string[]): string {
  if (criteria.length === 0) return '';
  return [
    'Acceptance criteria. When you are done, end your final message with one line per criterion,',
    'exactly in this form: "- [x] <criterion> — <evidence>" if it is met, "- [ ] <criterion> — <why not>" if not.',
    '',
    ...criteria.map((c) => `- [ ] ${c}`),
  ].join('\n');
}

/** The agent's claims about each criterion, read from the checkbox lines of its final message. */
export function criteriaClaims(criteria: readonly string[], finalMessage: string | undefined): Criterion[] {
  const norm = (s: string) => s.toLowerCase().replace(/[`*_]/g, '').replace(/\s+/g, ' ').trim();
  const claims = new Map<string, { met: boolean; evidence?: string }>();
  for (const line of (finalMessage ?? '').split('\n')) {
    const m = /^\s*[-*+]\s+\[([ xX])\]\s+(.+)$/.exec(line);
    if (!m) continue;
    const [text, ...rest] = m[2]!.split(/\s+[—–]\s+|\s+--\s+/);
    const evidence = rest.join(' — ').trim();
    claims.set(norm(text!), { met: m[1] !== ' ', ...(evidence ? { evidence } : {}) });
  }
  return criteria.map((text) => ({ text, ...(claims.get(norm(text)) ?? {}) }));
}
