// Frontmatter split, parse and byte-preserving edit. We split the text ourselves (gray-matter
// would evaluate `---js` blocks and caches by content) and edit through `yaml` node ranges, so a
// change to one value rewrites only that value's bytes.
import type { Document, Pair, Scalar } from 'yaml';
import { yamlLib } from './yaml-lib.js';
import { fastFrontmatterData } from './frontmatter-fast.js';
import { editMismatch, fastEditYaml, withSpace } from './frontmatter-edit-fast.js';
import { findDuplicateKey, FRONTMATTER_LIMITS, frontmatterOverLimit } from './frontmatter-limits.js';

export interface SplitNote {
  /** '\uFEFF' or ''. */
  bom: string;
  /** Whether the note has a frontmatter block at all. */
  hasFrontmatter: boolean;
  /** The opening delimiter line including its line ending (e.g. '---\r\n'). */
  open: string;
  /** YAML text between the delimiters (each line keeps its ending). */
  yaml: string;
  /** Closing delimiter line including its line ending, if any. */
  close: string;
  body: string;
  /** The note's dominant line ending, used for lines we add. */
  eol: '\n' | '\r\n';
}

export class FrontmatterSyntaxError extends Error {}

const OPEN_RE = /^---([^\r\n]*)(\r?\n|$)/;
const LINE_END = /\r?\n/;

/** Split a note's text into BOM, frontmatter and body. Throws FrontmatterSyntaxError for non-YAML frontmatter. */
export function splitNote(text: string): SplitNote {
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const rest = bom ? text.slice(1) : text;
  const open = OPEN_RE.exec(rest);
  // Lines we add follow the frontmatter's own line ending (the body may differ).
  const firstLine = rest.slice(0, rest.indexOf('\n') + 1);
  const eol: SplitNote['eol'] = firstLine.endsWith('\r\n') ? '\r\n' : '\n';
  if (!open || rest.startsWith('----')) {
    return { bom, hasFrontmatter: false, open: '', yaml: '', close: '', body: rest, eol };
  }
  // What follows the opening `---` on its line, read as gray-matter's `language()` reads it
  // (without loading gray-matter: `list` starts a process per call).
  const afterDashes = rest.slice(3);
  const lang = afterDashes.slice(0, afterDashes.search(LINE_END)).trim();
  if (lang !== '' && lang !== 'yaml' && lang !== 'yml') {
    // Never evaluated: `---js` frontmatter is code, and we do not run code from notes.
    throw new FrontmatterSyntaxError(`frontmatter language '${lang}' is not supported (only YAML); it was not evaluated`);
  }
  const afterOpen = open[0].length;
  // The block ends at the first line that is exactly '---' (or YAML's '...').
  let closeStart = -1;
  let closeLen = 0;
  for (let pos = afterOpen; pos < rest.length; ) {
    const nl = rest.indexOf('\n', pos);
    const lineEnd = nl < 0 ? rest.length : nl + 1;
    if (isCloseLine(rest, pos, lineEnd)) {
      closeStart = pos;
      closeLen = lineEnd - pos;
      break;
    }
    pos = lineEnd;
  }
  if (closeStart < 0) {
    throw new FrontmatterSyntaxError('frontmatter has no closing "---" line');
  }
  return {
    bom,
    hasFrontmatter: true,
    open: rest.slice(0, afterOpen),
    yaml: rest.slice(afterOpen, closeStart),
    close: rest.slice(closeStart, closeStart + closeLen),
    body: rest.slice(closeStart + closeLen),
    eol,
  };
}

/** `---` or `...`, then only blanks, then the line end: /^(---|\.\.\.)[ \t]*\r?\n?$/ without slicing the line. */
function isCloseLine(text: string, start: number, end: number): boolean {
  if (end - start < 3) return false;
  const c = text.charCodeAt(start);
  if ((c !== 45 && c !== 46) || text.charCodeAt(start + 1) !== c || text.charCodeAt(start + 2) !== c) return false;
  let i = start + 3;
  while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  if (i < end && text.charCodeAt(i) === 13) i++;
  if (i < end && text.charCodeAt(i) === 10) i++;
  return i === end;
}

export function joinNote(s: SplitNote): string {
  return s.bom + s.open + s.yaml + s.close + s.body;
}

export interface ParsedFrontmatter {
  split: SplitNote;
  doc: Document.Parsed;
  data: Record<string, unknown>;
}

/** Parse the YAML of a split note into plain data. Throws FrontmatterSyntaxError on any YAML error. */
export function parseFrontmatter(split: SplitNote): ParsedFrontmatter {
  // Bounded before parsing: no single note may stall or exhaust the service (see frontmatter-limits).
  const over = frontmatterOverLimit(split.yaml);
  if (over) throw new FrontmatterSyntaxError(over);
  // Core schema: no custom tags, no timestamps (Obsidian dates stay strings). Duplicate keys are
  // errors, found by our linear check (yaml's own `uniqueKeys` is quadratic).
  const doc = yamlLib().parseDocument(split.yaml, { schema: 'core', uniqueKeys: false, prettyErrors: false, strict: true });
  const lineOf = (pos: number) => countLines(split.yaml, pos);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new FrontmatterSyntaxError(`YAML error on frontmatter line ${lineOf(e.pos[0])}: ${e.message.split('\n')[0]}`);
  }
  const dup = findDuplicateKey(doc);
  if (dup) throw new FrontmatterSyntaxError(`YAML error on frontmatter line ${lineOf(dup.node.range?.[0] ?? 0)}: Map keys must be unique (${JSON.stringify(dup.key.slice(0, 60))} appears twice)`);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    throw new FrontmatterSyntaxError(`YAML could not be read: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new FrontmatterSyntaxError('frontmatter is not a list of "key: value" properties');
  }
  return { split, doc, data: data as Record<string, unknown> };
}

const SURELY_WITHIN_LIMITS = Math.min(FRONTMATTER_LIMITS.maxNodes / 2, FRONTMATTER_LIMITS.maxKeys * 2, FRONTMATTER_LIMITS.maxBytes / 3);

/** Only the data (no Document, nothing to edit): the cheap reader when it is sure, else the
 *  full parse. Same result and same errors as parseFrontmatter(split).data. */
export function frontmatterData(split: SplitNote): Record<string, unknown> {
  // Frontmatter the fast reader accepts is flat (depth ≤ 3 by the limit scan's count), and the
  // scan counts at most 2 nodes and one key per 2 characters: this short, it cannot be over.
  if (split.yaml.length <= SURELY_WITHIN_LIMITS) {
    const fast = fastFrontmatterData(split.yaml);
    if (fast) return fast;
  }
  const over = frontmatterOverLimit(split.yaml);
  if (over) throw new FrontmatterSyntaxError(over);
  return fastFrontmatterData(split.yaml) ?? parseFrontmatter(split).data;
}

/** A value we write. `undefined` deletes the key. */
export type FieldValue = string | number | boolean | null | undefined;
export type FieldEdits = Record<string, FieldValue>;

const PLAIN_SAFE = /^[A-Za-z_][A-Za-z0-9_.\/-]*(?: [A-Za-z0-9_.\/-]+)*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/;

/** Render a scalar in Obsidian's property formats; keeps the existing quote style where it can. */
export function formatScalar(value: Exclude<FieldValue, undefined>, prefer?: Scalar.Type): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '0';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const plainOk = (PLAIN_SAFE.test(value) && !RESERVED.test(value)) || DATETIME.test(value);
  if (prefer === 'QUOTE_SINGLE' && !/[\r\n]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  if (plainOk && prefer !== 'QUOTE_DOUBLE') return value;
  // JSON string syntax is valid YAML double-quoted syntax; it escapes newlines and controls.
  return JSON.stringify(value);
}

/**
 * Apply edits to the note's text, touching only the bytes of the changed values.
 * Keys not present are appended at the end of the frontmatter; a note without frontmatter gets one.
 */
export function applyEdits(text: string, edits: FieldEdits): string {
  const split = splitNote(text);
  const { eol } = split;
  if (!split.hasFrontmatter) {
    const lines = Object.entries(edits)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}:${withSpace(formatScalar(v as Exclude<FieldValue, undefined>))}${eol}`);
    if (lines.length === 0) return text;
    return split.bom + `---${eol}` + lines.join('') + `---${eol}` + split.body;
  }
  if (split.yaml.length <= SURELY_WITHIN_LIMITS) {
    // Plain `key: value` lines (nearly every note): edited line by line, no YAML document built.
    const yaml = fastEditYaml(split.yaml, eol, edits, formatScalar);
    if (yaml !== undefined && yaml.length <= SURELY_WITHIN_LIMITS) return joinNote({ ...split, yaml });
  }
  return applyEditsFull(split, edits);
}

/** applyEdits through the YAML document: any frontmatter the parser reads. */
export function applyEditsFull(split: SplitNote, edits: FieldEdits): string {
  const { eol } = split;
  const parsed = parseFrontmatter(split);
  const { isMap, isScalar } = yamlLib();
  let yaml = split.yaml;
  const root = parsed.doc.contents;
  const pairs: Pair[] = isMap(root) ? (root.items as Pair[]) : [];
  // Apply from the end of the text backwards so earlier offsets stay valid.
  type Splice = { start: number; end: number; text: string };
  const splices: Splice[] = [];
  const appended: string[] = [];
  for (const [key, value] of Object.entries(edits)) {
    const pair = pairs.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (!pair) {
      if (value !== undefined) appended.push(`${key}:${withSpace(formatScalar(value))}${eol}`);
      continue;
    }
    const keyNode = pair.key as Scalar;
    const keyEnd = keyNode.range![1];
    const anchor = (pair.value as { anchor?: string } | null)?.anchor;
    if (anchor) {
      // Other properties may read this value through `*anchor`: editing it would change them too.
      throw new FrontmatterSyntaxError(
        `'${key}' carries the YAML anchor &${anchor}, which other properties can reuse (*${anchor}); vaultrunner does not edit it. Remove the anchor from '${key}' (write the value out where it is reused)`,
      );
    }
    if (value === undefined) {
      const lineStart = yaml.lastIndexOf('\n', keyNode.range![0] - 1) + 1;
      const valueEnd = nodeEnd(pair) ?? keyEnd;
      const lineEnd = endOfLine(yaml, Math.max(valueEnd - 1, keyEnd));
      splices.push({ start: lineStart, end: lineEnd, text: '' });
      continue;
    }
    const v = pair.value as (Scalar & { range?: [number, number, number] }) | null;
    const prefer = isScalar(v) ? v.type : undefined;
    const rendered = formatScalar(value, prefer);
    if (v && v.range && v.range[1] > v.range[0]) {
      // Block scalars' ranges include their final line break; keep it.
      let end = v.range[1];
      while (end > v.range[0] && (yaml[end - 1] === '\n' || yaml[end - 1] === '\r')) end--;
      splices.push({ start: v.range[0], end, text: rendered });
    } else {
      // Empty value (`key:`): insert after the colon.
      const colon = yaml.indexOf(':', keyEnd);
      splices.push({ start: colon + 1, end: colon + 1, text: withSpace(rendered) });
    }
  }
  splices.sort((a, b) => b.start - a.start);
  for (const s of splices) yaml = yaml.slice(0, s.start) + s.text + yaml.slice(s.end);
  if (appended.length > 0) {
    if (yaml.length > 0 && !yaml.endsWith('\n')) yaml += eol;
    yaml += appended.join('');
  }
  return verified(joinNote({ ...split, yaml }), edits, parsed.data);
}

/** Splicing cannot express every edit (flow-mapping or indented frontmatter, tag-only values):
 *  re-read the result and refuse, rather than write YAML that breaks or means something else. */
function verified(text: string, edits: FieldEdits, before: Record<string, unknown>): string {
  let data: Record<string, unknown>;
  try {
    data = parseFrontmatter(splitNote(text)).data;
  } catch (err) {
    throw new FrontmatterSyntaxError(`this frontmatter cannot be edited safely; edit it by hand (${(err as Error).message})`);
  }
  const wrong = editMismatch(edits, before, data);
  if (wrong?.kind === 'edited') throw new FrontmatterSyntaxError(`setting '${wrong.key}' in this frontmatter would not read back as written; edit it by hand`);
  if (wrong) throw new FrontmatterSyntaxError(`this edit would also change '${wrong.key}' in this frontmatter; edit it by hand`);
  return text;
}

function countLines(text: string, pos: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function nodeEnd(pair: Pair): number | undefined {
  const v = pair.value as { range?: [number, number, number] } | null;
  return v?.range?.[2];
}

function endOfLine(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  return nl < 0 ? text.length : nl + 1;
}
