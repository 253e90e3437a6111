// The cheap way to edit the plain frontmatter nearly every task note has: each edited key is one
// `key: value` line, so its value is replaced on that line, a deleted key loses its line, and a new
// key is appended, byte for byte what the YAML-document edit (applyEdits) writes. It answers only
// when the cheap reader accepts the text before and after and the result reads back as intended;
// anything else (comments on the line, flow lists, block lists, nesting) returns undefined and the
// full edit decides. Every status change writes a note, and two full YAML parses per write (edit,
// then the read-back check) were the largest share of the service's own CPU per task.
import { fastFrontmatterData } from './frontmatter-fast.js';
import type { FieldEdits, FieldValue } from './frontmatter.js';

type Prefer = 'QUOTE_SINGLE' | 'QUOTE_DOUBLE' | undefined;
type Format = (value: Exclude<FieldValue, undefined>, prefer?: Prefer) => string;

/** The edited frontmatter text, or undefined when the full edit must decide. */
export function fastEditYaml(yaml: string, eol: string, edits: FieldEdits, formatScalar: Format): string | undefined {
  const before = fastFrontmatterData(yaml);
  if (!before) return undefined;
  const lines = yaml.split('\n'); // each keeps its '\r' in a CRLF note
  const appended: string[] = [];
  for (const [key, value] of Object.entries(edits)) {
    const i = Object.hasOwn(before, key) ? lineOf(lines, key) : -1;
    if (i < 0) {
      if (Object.hasOwn(before, key)) return undefined; // held, but not on a `key:` line of its own
      if (value !== undefined) appended.push(`${key}:${withSpace(formatScalar(value))}${eol}`);
      continue;
    }
    const line = lines[i]!;
    const colon = key.length;
    const rest = line.slice(colon + 1);
    if (rest.includes('#')) return undefined; // a comment (or a '#' in the value): the full edit keeps it right
    const trimmed = rest.replace(/[ \r]+$/, '');
    let start = colon + 1;
    while (line.charCodeAt(start) === 32) start++;
    const end = colon + 1 + trimmed.length;
    if (start >= end) {
      // `key:` alone: null, unless a block list follows (the full edit handles lists).
      if (Array.isArray(before[key])) return undefined;
      // (Deleting one: the full edit also takes the comment lines after it; left to it.)
      if (value === undefined) return undefined;
      lines[i] = line.slice(0, colon + 1) + withSpace(formatScalar(value)) + line.slice(colon + 1);
      continue;
    }
    const first = line[start];
    if (first === '[' || first === '{' || Array.isArray(before[key])) return undefined;
    if (value === undefined) {
      lines[i] = DELETED;
      continue;
    }
    const prefer: Prefer = first === "'" ? 'QUOTE_SINGLE' : first === '"' ? 'QUOTE_DOUBLE' : undefined;
    lines[i] = line.slice(0, start) + formatScalar(value, prefer) + line.slice(end);
  }
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === DELETED) continue; // with its line break
    out += i === lines.length - 1 ? lines[i] : `${lines[i]}\n`;
  }
  if (appended.length > 0) {
    if (out.length > 0 && !out.endsWith('\n')) out += eol;
    out += appended.join('');
  }
  return readsBack(out, edits, before) ? out : undefined;
}

// Not a line any text can hold (split on '\n' never yields one): marks a line to drop.
const DELETED = '\n';

/** The index of the top-level line `key:` (the cheap reader accepted the text: at most one). */
function lineOf(lines: string[], key: string): number {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.length > key.length && l.charCodeAt(key.length) === 58 && l.startsWith(key)) return i;
  }
  return -1;
}

/** The result means what was asked and nothing else (the full edit's check too). */
function readsBack(yaml: string, edits: FieldEdits, before: Record<string, unknown>): boolean {
  const data = fastFrontmatterData(yaml);
  return data !== undefined && editMismatch(edits, before, data) === undefined;
}

/**
 * Where `data` (the edited frontmatter, read back) does not say what `edits` asked of `before`: an
 * edited key that does not read back as written (`edited`), or another key whose meaning changed
 * (`other`, e.g. an alias of an edited value, a key swallowed by a splice).
 */
export function editMismatch(edits: FieldEdits, before: Record<string, unknown>, data: Record<string, unknown>): { key: string; kind: 'edited' | 'other' } | undefined {
  for (const [key, value] of Object.entries(edits)) {
    const ok = value === undefined ? !(key in data) : data[key] === value || (typeof value === 'number' && !Number.isFinite(value));
    if (!ok) return { key, kind: 'edited' };
  }
  for (const key of new Set([...Object.keys(before), ...Object.keys(data)])) {
    if (key in edits) continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(data[key])) return { key, kind: 'other' };
  }
  return undefined;
}

export function withSpace(rendered: string): string {
  return rendered === '' ? '' : ` ${rendered}`;
}
