// The Markdown record of one attempt (what a person reads in Obsidian) plus the raw stream beside
// it. Append-only, batched and bounded: a chatty or hostile agent cannot bloat the vault, our heap,
// or break the note's rendering.
import { constants } from 'node:fs';
import { unlink, type QuickHandle as FileHandle } from '../os/quick-fs.js';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { AgentEvent } from '../agents/agent.js';
import { obsidianDateTime } from '../clock.js';
import { formatElapsed } from '../config/duration.js';
import { wikilink } from '../vault/layout.js';
import { createExclusive, ensureVaultDir, openRegular } from '../os/safe-open.js';
import { clean, clip, code, escapeText, fenced, quote } from './markdown-safe.js';

export interface RunTranscriptHeader {
  agent: string;
  model?: string;
  sessionId?: string;
  workingDir: string;
  startedAt: number;
  resumedFrom?: string;
  permissionMode?: string;
}

export interface RunTranscriptOptions {
  runsDir: string;
  vaultRoot: string;
  taskId: string;
  attempt: number;
  header: RunTranscriptHeader;
  /** The prompt sent to the agent, shown collapsed (an Obsidian `> [!note]- Prompt` callout) at the top. */
  prompt?: string;
  /** How often buffered output is appended to the files (default 500 ms). */
  flushMs?: number;
  /** Cap of the .md body (default 1 MiB); the summary is written beyond it. */
  maxBytes?: number;
  /** Cap of the .jsonl (default 8 MiB). */
  maxRawBytes?: number;
  now?: () => number;
}

export interface RunSummary {
  status: string;
  durationMs: number;
  numTurns?: number;
  costUsd?: number;
  permissionDenials?: string[];
  error?: string;
  sessionId?: string;
}

export interface RunTranscript {
  mdPath: string;
  jsonlPath: string;
  /** Vault-relative link target without `.md`, e.g. `Logs/runs/<id>/attempt-2`. */
  link: string;
  onEvent(ev: AgentEvent): void;
  onRawLine(line: string): void;
  /** A remark of the service itself, e.g. 'paused by person'. */
  note(text: string): void;
  /** A command's output (e.g. the operator's SETUP), already bounded by the caller: a folded block. */
  output(title: string, text: string): void;
  /** Writes the summary and flushes; idempotent, never rejects. */
  finish(summary: RunSummary): Promise<void>;
  /** The last `maxChars` of the Markdown written so far (for `vaultrunner show`). */
  tail(maxChars: number): string;
}

const TAIL_KEEP = 64 * 1024;
const QUEUE_MAX = 1024 * 1024;
const RESERVE = 1024; // room under the cap for the truncation lines
const TEXT_MAX = 32 * 1024; // one assistant message, in chars
const RESULT_MAX = 300;
const INPUT_MAX = 200;
const PROMPT_MAX = 64 * 1024;

type BlockKind = 'quote' | 'line' | 'block';

/** An append-only file with a byte cap and a bounded in-memory write queue. */
class Sink {
  private pending: string[] = [];
  private unwritten = 0; // pending + in-flight bytes: what we hold in memory
  private accepted: number;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  truncated = false;
  dropped = 0;
  droppedBytes = 0;
  private lagged = 0;
  private laggedBytes = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly limit: number,
    private readonly queueCap: number,
    private readonly flushMs: number,
    initialBytes: number,
    /** The line that marks a gap left by a writer that fell behind. */
    private readonly gapLine: (events: number, bytes: number) => string,
    private readonly onWrite: (s: string) => void = () => {},
  ) {
    this.accepted = initialBytes;
  }

  /** Body content: false when dropped (over the cap, or the writer is too far behind). */
  push(s: string, bytes = Buffer.byteLength(s)): boolean {
    if (this.truncated || this.accepted + bytes > this.limit) {
      this.truncated = true;
      this.dropped++;
      this.droppedBytes += bytes;
      return false;
    }
    if (this.unwritten + bytes > this.queueCap) {
      this.lagged++;
      this.laggedBytes += bytes;
      return false;
    }
    this.markGap();
    this.force(s, bytes);
    return true;
  }

  /** Writes the gap line, if events were dropped since the last write. */
  markGap(): void {
    if (this.lagged === 0) return;
    const line = this.gapLine(this.lagged, this.laggedBytes);
    this.lagged = this.laggedBytes = 0;
    this.force(line);
  }

  /** Bypasses the caps: only for our own bounded lines (gap and truncation notes, summary). */
  force(s: string, bytes = Buffer.byteLength(s)): void {
    this.pending.push(s);
    this.unwritten += bytes;
    this.accepted += bytes;
    this.onWrite(s);
    // Flush early when a lot is waiting, so memory stays small without giving up batching.
    if (this.unwritten >= this.queueCap / 4) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return this.chain;
    const data = this.pending.join('');
    this.pending = [];
    const bytes = Buffer.byteLength(data);
    this.chain = this.chain
      .then(() => this.fh.appendFile(data))
      .catch(() => undefined) // the transcript is best effort; the run's outcome matters more
      .then(() => {
        this.unwritten -= bytes;
      });
    return this.chain;
  }

  /** Flush, then close the file. */
  async close(): Promise<void> {
    await this.flush();
    await this.fh.close().catch(() => undefined);
  }
}

export async function createRunTranscript(opts: RunTranscriptOptions): Promise<RunTranscript> {
  const { taskId, attempt, header } = opts;
  if (!taskId || taskId === '.' || taskId === '..' || /[/\\\0]/.test(taskId)) throw new Error(`not a task id: ${JSON.stringify(taskId)}`);
  const now = opts.now ?? Date.now;
  const flushMs = opts.flushMs ?? 500;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const maxRawBytes = opts.maxRawBytes ?? 8 * 1024 * 1024;
  const dir = join(opts.runsDir, taskId);
  // The run folder may not lead out of the vault; the files are new (never a link, never an
  // earlier run's transcript: a task of the same name may have run before).
  await ensureVaultDir(opts.vaultRoot, dir);
  const files = await createFreePair(dir, `attempt-${attempt}`);
  const { mdPath, jsonlPath } = files;
  const link = relative(opts.vaultRoot, mdPath).split(sep).join('/').replace(/\.md$/, '');
  const head = renderHeader(taskId, attempt, header, relative(dir, jsonlPath), opts.prompt);
  // From here on we only ever append, through the handles we created.
  try {
    await files.md.appendFile(head);
  } catch (err) {
    await Promise.all([files.md.close(), files.raw.close()]).catch(() => undefined);
    throw err;
  }

  let tailBuf = head;
  const keep = (text: string) => {
    tailBuf += text;
    if (tailBuf.length > 2 * TAIL_KEEP) tailBuf = tailBuf.slice(-TAIL_KEEP);
  };
  // In-memory queues: at most 1 MiB each, whatever the caps (the .md's own cap usually binds first).
  const md = new Sink(files.md, Math.max(0, maxBytes - RESERVE), Math.min(QUEUE_MAX, Math.max(maxBytes, 4096)), flushMs, Buffer.byteLength(head),
    (n, bytes) => `\n*… ${n} events (${bytes} bytes) dropped here: the disk was too slow*\n\n`, keep);
  const raw = new Sink(files.raw, Math.max(0, maxRawBytes - RESERVE), Math.min(QUEUE_MAX, Math.max(maxRawBytes, 4096)), flushMs, 0,
    (n, bytes) => `${JSON.stringify({ vaultrunner: 'dropped', lines: n, bytes })}\n`);
  let prev: BlockKind | 'header' = 'header';
  let closed = false;
  let finishing: Promise<void> | undefined;

  const emit = (kind: BlockKind, text: string) => {
    // Consecutive list lines stay one list and consecutive quotes one quote; otherwise a blank line.
    const joined = (kind === prev && kind !== 'block' ? '' : '\n') + text + '\n';
    const wasTruncated = md.truncated;
    if (md.push(joined)) prev = kind;
    else if (md.truncated && !wasTruncated) {
      md.force(`\n*… transcript truncated here: the note reached its size limit (${maxBytes} bytes); see the .jsonl for everything*\n`);
    }
  };

  return {
    mdPath,
    jsonlPath,
    link,
    onEvent(ev) {
      if (closed) return;
      try {
        const b = renderEvent(ev);
        if (b) emit(b.kind, b.text);
      } catch {
        /* a rendering bug must never break the run */
      }
    },
    onRawLine(line) {
      if (closed) return;
      raw.push(`${line.replace(/\r?\n/g, '\\n')}\n`);
    },
    note(text) {
      if (closed) return;
      emit('line', `- ⓘ *vaultrunner ${clockTime(now())}:* ${escapeText(clip(text, 500))}`);
    },
    output(title, text) {
      if (closed) return;
      const body = fenced(clip(clean(text), 20_000) || '(no output)', 'text');
      emit('block', `> [!example]- ${escapeText(clip(title, 200))}\n${body.split('\n').map((l) => `> ${l}`).join('\n')}`);
    },
    finish(summary) {
      if (finishing) return finishing;
      closed = true;
      finishing = (async () => {
        md.markGap();
        raw.markGap();
        if (md.truncated) md.force(`\n… transcript truncated: ${md.dropped} more events (${md.droppedBytes} bytes) not shown; see the .jsonl\n`);
        md.force(renderSummary(summary, now()));
        if (raw.truncated) raw.force(`${JSON.stringify({ vaultrunner: 'truncated', lines: raw.dropped, bytes: raw.droppedBytes })}\n`);
        await Promise.all([md.close(), raw.close()]);
      })();
      return finishing;
    },
    tail(maxChars) {
      return maxChars <= 0 ? '' : tailBuf.slice(-maxChars);
    },
  };
}

/** The first free `<base>.md` + `<base>.jsonl` pair in `dir`, then `<base> (2)`, `(3)`…, both
 *  created exclusively: an existing transcript is never overwritten, a planted link never followed. */
async function createFreePair(dir: string, base: string): Promise<{ mdPath: string; jsonlPath: string; md: FileHandle; raw: FileHandle }> {
  for (let n = 1; n <= 1000; n++) {
    const name = n === 1 ? base : `${base} (${n})`;
    const mdPath = join(dir, `${name}.md`);
    const jsonlPath = join(dir, `${name}.jsonl`);
    const md = await createExclusive(mdPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return undefined;
      throw err;
    });
    if (!md) continue;
    let raw: FileHandle | undefined;
    try {
      raw = await createExclusive(jsonlPath);
    } catch (err) {
      await md.close();
      await unlink(mdPath).catch(() => undefined); // ours, empty: the pair goes on to the next name
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    return { mdPath, jsonlPath, md, raw };
  }
  throw new Error(`no free transcript name for ${base} in ${dir}`);
}

/** The prompt, collapsed: Obsidian shows a `[!note]-` callout folded until clicked. Escaped like
 *  agent text (a prompt holds the note's body, which may hold anything). */
export function renderPrompt(prompt: string): string {
  const body = prompt.trim() === '' ? '> *(empty)*' : quote(prompt, PROMPT_MAX);
  return `> [!note]- Prompt\n${body}\n`;
}

function renderHeader(taskId: string, attempt: number, h: RunTranscriptHeader, rawName: string, prompt?: string): string {
  const task = wikilink(taskId);
  const rows = [
    `- **Agent:** ${escapeText(h.agent)}`,
    h.model ? `- **Model:** ${code(h.model)}` : undefined,
    h.sessionId ? `- **Session:** ${code(h.sessionId)}` : undefined,
    h.resumedFrom ? `- **Resumed from session:** ${code(h.resumedFrom)}` : undefined,
    h.permissionMode ? `- **Permission mode:** ${code(h.permissionMode)}` : undefined,
    `- **Working dir:** ${code(h.workingDir)}`,
    `- **Started:** ${obsidianDateTime(h.startedAt).replace('T', ' ')}`,
    `- **Raw stream:** ${code(rawName)}`,
  ].filter((r): r is string => r !== undefined);
  // Our own frontmatter, so agent output can never become the note's properties. No `status`:
  // we never rewrite this file, and a frozen "running" would be a lie once the run ends.
  const fm = ['---', `task: ${JSON.stringify(task)}`, `attempt: ${attempt}`, `agent: ${JSON.stringify(h.agent)}`, `started: ${obsidianDateTime(h.startedAt)}`, '---'];
  return `${fm.join('\n')}\n\n# Run of ${task}, attempt ${attempt}\n\n${rows.join('\n')}\n\n${prompt === undefined ? '' : `${renderPrompt(prompt)}\n`}## Transcript\n`;
}

function renderEvent(ev: AgentEvent): { kind: BlockKind; text: string } | undefined {
  switch (ev.kind) {
    case 'init': {
      const extra = [ev.model ? `model ${code(ev.model)}` : '', ev.cwd ? `cwd ${code(ev.cwd)}` : ''].filter(Boolean).join(', ');
      return { kind: 'line', text: `- session ${code(ev.sessionId)}${extra ? ` (${extra})` : ''}` };
    }
    case 'text':
      return ev.text.trim() === '' ? undefined : { kind: 'quote', text: quote(ev.text, TEXT_MAX) };
    case 'tool_use':
      return { kind: 'line', text: `- 🔧 **${escapeText(clip(ev.name, 100))}** ${code(toolInput(ev.name, ev.input))}` };
    case 'tool_result': {
      const label = ev.isError ? '**✗ error:**' : '↳ result:';
      // Clip before cleaning: a tool may return megabytes and we show 300 chars.
      const content = clean(ev.content.slice(0, 2 * RESULT_MAX)).trim();
      if (content === '') return { kind: 'line', text: `- ${label} *(empty)*` };
      const rest = ev.content.length - Math.min(content.length, RESULT_MAX);
      const more = content.length > RESULT_MAX || ev.content.length > 2 * RESULT_MAX ? `\n*… ${rest} more chars*` : '';
      return { kind: 'block', text: `${label}\n${fenced(content.slice(0, RESULT_MAX))}${more}` };
    }
    case 'stderr':
      return ev.text.trim() === '' ? undefined : { kind: 'line', text: `- stderr: ${code(clip(ev.text, 500))}` };
    case 'other':
      return undefined; // protocol chatter: it is in the .jsonl
  }
}

function renderSummary(s: RunSummary, finishedAt: number): string {
  const denials = s.permissionDenials ?? [];
  const rows = [
    `- **Status:** ${escapeText(s.status)}`,
    `- **Duration:** ${formatElapsed(s.durationMs)}`,
    s.numTurns !== undefined ? `- **Turns:** ${s.numTurns}` : undefined,
    s.costUsd !== undefined ? `- **Cost:** $${s.costUsd.toFixed(4)}` : undefined,
    s.sessionId ? `- **Session:** ${code(s.sessionId)}` : undefined,
    `- **Permission denials:** ${denials.length === 0 ? 'none' : denials.slice(0, 20).map((d) => code(clip(d, 200))).join(', ') + (denials.length > 20 ? `, … ${denials.length - 20} more` : '')}`,
    `- **Finished:** ${obsidianDateTime(finishedAt).replace('T', ' ')}`,
  ].filter((r): r is string => r !== undefined);
  const error = s.error ? `\n**Error:**\n${fenced(clean(clip(s.error, 4000)))}` : '';
  return `\n## Summary\n\n${rows.join('\n')}\n${error}`;
}

function toolInput(name: string, input: unknown): string {
  const o = input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  const pick = (...keys: string[]) => keys.map((k) => o[k]).find((v): v is string => typeof v === 'string');
  const short =
    name === 'Bash' ? pick('command')
    : ['Write', 'Edit', 'MultiEdit', 'Read', 'NotebookEdit'].includes(name) ? pick('file_path', 'notebook_path')
    : ['Glob', 'Grep'].includes(name) ? pick('pattern')
    : name === 'WebFetch' ? pick('url')
    : undefined;
  if (short !== undefined) return clip(short, INPUT_MAX);
  try {
    return clip(JSON.stringify(input) ?? String(input), INPUT_MAX);
  } catch {
    return '(unprintable input)';
  }
}

/** Agent Markdown as a blockquote: every construct it opens ends with the quote, and what would
 *  reach outside the note (wikilinks, embeds, tags, comments, HTML) is escaped. */
function clockTime(ms: number): string {
  return obsidianDateTime(ms).slice(11);
}

/** After a restart: a remark and the summary appended to the transcript of a run that ended while
 *  the service was down (`link` as recorded in the lease; never a file outside the vault). */
export async function appendToTranscript(vaultRoot: string, link: string, text: string, summary: RunSummary, now: number): Promise<void> {
  const md = `${join(vaultRoot, ...link.split('/'))}.md`;
  const rel = relative(vaultRoot, md);
  if (rel.startsWith('..') || isAbsolute(rel)) return;
  await ensureVaultDir(vaultRoot, dirname(md));
  const fh = await openRegular(md, constants.O_WRONLY | constants.O_APPEND); // never created anew
  try {
    await fh.appendFile(`\n- ⓘ *vaultrunner ${clockTime(now)}:* ${escapeText(clip(text, 500))}\n${renderSummary(summary, now)}`);
  } finally {
    await fh.close();
  }
}
