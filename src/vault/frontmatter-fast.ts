// A cheap reader for the plain frontmatter nearly every task note has: `key: value` lines, simple
// scalars, `[a, b]` and `- item` lists. It answers only when it is sure to give exactly what the
// full YAML parser (core schema) gives; anything unusual (nesting, anchors, tags, block scalars,
// escapes, duplicate keys, multi-line values) returns undefined and the full parser decides.
// `list` reads every active note, and the full parse was most of its CPU time.

const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ITEM_LINE = /^( *)-[ ]+(.*)$/;
const ODD_KEY = /^(?:true|false|null|True|False|Null|TRUE|FALSE|NULL|__proto__|constructor|prototype)$/;
// Control characters, tabs and Unicode line breaks: YAML treats them specially; leave them to it.
const ODD_CHAR = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f\u0085\u2028\u2029\ufeff]/;
// Starts a plain scalar may not have (indicators; `-` only before a space or alone).
const INDICATOR = /^(?:[?:,[\]{}#&*!|>'"%@`]|-(?: |$))/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
// Hoisted: a regex literal inside a function is a new RegExp object on every call.
const BLANK_OR_COMMENT = /^ *(#.*)?$/;
const FLOW_LIST = /^\[([^[\]{}"'#]*)\](?: +#.*)? *$/;
const DOUBLE_QUOTED = /^"([^"\\]*)"(?: +#.*)? *$/;
const SINGLE_QUOTED = /^'([^']*)'(?: +#.*)? *$/;
const TRAILING_SPACES = / +$/;
const MAPPING_COLON = /: |:$/;
const ODD_NUMBER = /^[-+]?(0x|0o|\.inf|\.nan)/i;

type Scalar = string | number | boolean | null;
const BAIL = Symbol('bail');

/** Data of simple frontmatter, or undefined when the full parser must decide. */
export function fastFrontmatterData(yaml: string): Record<string, unknown> | undefined {
  if (ODD_CHAR.test(yaml)) return undefined; // (CR is not odd: stripCr judges it line by line)
  const lines = yaml.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const data: Record<string, unknown> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = stripCr(lines[i]!);
    if (line === undefined) return undefined;
    if (isBlankOrComment(line)) continue;
    const colon = keyEnd(line);
    if (colon < 0) return undefined;
    const key = line.slice(0, colon);
    // A repeated key: the full parser reports it (own keys only: `data` has no odd keys, see ODD_KEY).
    if (ODD_KEY.test(key) || Object.hasOwn(data, key)) return undefined;
    const raw = valueAfter(line, colon);
    if (raw !== '' && raw[0] !== '#') {
      const v = value(raw);
      if (v === BAIL) return undefined;
      data[key] = v;
      continue;
    }
    // `key:` alone: null, or a block list on the following lines (all items at one indent).
    const items: Scalar[] = [];
    let indent = -1;
    for (; i + 1 < lines.length; i++) {
      const next = stripCr(lines[i + 1]!);
      if (next === undefined) return undefined;
      if (isBlankOrComment(next)) continue;
      const item = ITEM_LINE.exec(next);
      if (!item) {
        if (next[0] === ' ') return undefined; // nested map or a continuation line
        break;
      }
      if (indent === -1) indent = item[1]!.length;
      else if (item[1]!.length !== indent) return undefined;
      const v = scalar(item[2]!);
      if (v === BAIL) return undefined;
      items.push(v);
    }
    data[key] = indent === -1 ? null : items;
  }
  return data;
}

/** Where the key of a `key:` or `key: value` line ends (its colon), else -1. */
function keyEnd(line: string): number {
  const colon = line.indexOf(':');
  if (colon < 1 || !KEY_NAME.test(line.slice(0, colon))) return -1;
  if (colon !== line.length - 1 && line.charCodeAt(colon + 1) !== 32) return -1;
  return colon;
}

/** The value text after the key's colon and its spaces ('' for `key:` alone). */
function valueAfter(line: string, colon: number): string {
  let j = colon + 1;
  while (line.charCodeAt(j) === 32) j++;
  return j >= line.length ? '' : line.slice(j);
}

function stripCr(line: string): string | undefined {
  const s = line.endsWith('\r') ? line.slice(0, -1) : line;
  return s.includes('\r') ? undefined : s;
}

function isBlankOrComment(line: string): boolean {
  const c = line.charCodeAt(0);
  // Nearly every line starts with its key: only '', ' …' and '#…' can be blank or a comment.
  return (c === 32 || c === 35 || line === '') && BLANK_OR_COMMENT.test(line);
}

/** A value on the key's line: a flow list of plain scalars, or one scalar. */
function value(raw: string): Scalar | Scalar[] | typeof BAIL {
  if (raw[0] !== '[') return scalar(raw);
  const m = FLOW_LIST.exec(raw);
  if (!m) return BAIL;
  const inner = m[1]!.trim();
  if (inner === '') return [];
  const out: Scalar[] = [];
  for (const part of inner.split(',')) {
    const p = part.trim();
    if (p === '' || p.includes(':') || p.includes('#')) return BAIL;
    const v = plain(p);
    if (v === BAIL) return BAIL;
    out.push(v);
  }
  return out;
}

/** One scalar: quoted without escapes, or plain; an optional trailing ` # comment`. */
function scalar(raw: string): Scalar | typeof BAIL {
  const c = raw[0];
  if (c === '"') {
    const m = DOUBLE_QUOTED.exec(raw);
    return m ? m[1]! : BAIL;
  }
  if (c === "'") {
    const m = SINGLE_QUOTED.exec(raw);
    return m ? m[1]! : BAIL;
  }
  const hash = raw.indexOf(' #');
  const cut = hash >= 0 ? raw.slice(0, hash) : raw;
  const text = cut.charCodeAt(cut.length - 1) === 32 ? cut.replace(TRAILING_SPACES, '') : cut;
  if (text === '' || MAPPING_COLON.test(text) || INDICATOR.test(text)) return BAIL;
  return plain(text);
}

/** A plain scalar resolved as the core schema does it (null, booleans, decimal numbers, else text). */
function plain(s: string): Scalar | typeof BAIL {
  if (INDICATOR.test(s)) return BAIL;
  if (s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  const c = s.charCodeAt(0);
  // Digits, signs, dots and `0x`/`0o`/`.inf`/`.nan` forms: decimal ones are numbers, odd ones bail.
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    if (INT.test(s) || FLOAT.test(s)) return Number(s);
    if (ODD_NUMBER.test(s)) return BAIL;
  }
  return s;
}
