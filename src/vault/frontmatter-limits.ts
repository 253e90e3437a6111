// What one note's frontmatter may cost, checked by a linear scan BEFORE the text reaches `yaml`:
// the parser's time and memory grow with the number of nodes (a 2 MB flow list of a million items
// took 5.6 s and 1 GB), so a note over these bounds is refused as invalid, never parsed. The
// bounds are far above any real note's properties and keep the worst parse to a few milliseconds.
import type { Document, Node } from 'yaml';
import { yamlLib } from './yaml-lib.js';

export const FRONTMATTER_LIMITS = {
  /** Bytes of YAML between the `---` lines (the body is not limited here). */
  maxBytes: 128 * 1024,
  /** Upper estimate of YAML nodes (keys, values, list items). */
  maxNodes: 10_000,
  /** Top-level properties. */
  maxKeys: 1_000,
  /** Nesting of lists and maps, flow (`[{…}]`) and block (indentation) alike. */
  maxDepth: 32,
} as const;

export type FrontmatterLimits = { [K in keyof typeof FRONTMATTER_LIMITS]: number };

/** Why this frontmatter is refused, or undefined when it is within the limits. One pass, O(n). */
export function frontmatterOverLimit(yaml: string, limits: FrontmatterLimits = FRONTMATTER_LIMITS): string | undefined {
  // UTF-8 is at most 3 bytes per UTF-16 unit: skip the exact count when even that fits.
  if (yaml.length * 3 > limits.maxBytes) {
    const bytes = Buffer.byteLength(yaml);
    if (bytes > limits.maxBytes) return `frontmatter is ${bytes} bytes, more than the ${limits.maxBytes} allowed; it was not parsed (move long text into the note's body)`;
  }
  const deep = `frontmatter is nested more than ${limits.maxDepth} levels deep; it was not parsed`;
  let nodes = 0;
  let keys = 0;
  let flow = 0; // depth of [ and {
  let quote = ''; // '"' or "'" while inside a quoted scalar
  let prev = 0; // last non-blank char on this line outside quotes (0: none yet)
  let lineStart = true;
  let indent = 0;
  let blockScalar = -1; // indentation of the key whose `|` / `>` text we are skipping
  const indents: number[] = []; // block indentation levels of the current path
  for (let i = 0; i < yaml.length; i++) {
    let c = yaml.charCodeAt(i);
    if (c === 10 /* \n */) {
      lineStart = true;
      indent = 0;
      prev = 0;
      continue;
    }
    if (quote) {
      if (quote === '"' && c === 92 /* \ */) i++;
      else if (yaml[i] === quote) {
        if (quote === "'" && yaml[i + 1] === "'") i++;
        else quote = '';
      }
      continue;
    }
    if (lineStart) {
      if (c === 32 || c === 9 || c === 13) {
        if (c !== 13) indent++;
        continue;
      }
      lineStart = false;
      // Text of a block scalar: every line more indented than its key (its content is not YAML).
      if (blockScalar >= 0 && indent > blockScalar) {
        i = skipToEol(yaml, i) - 1;
        continue;
      }
      blockScalar = -1;
      if (c === 35 /* # */) {
        i = skipToEol(yaml, i) - 1;
        continue;
      }
      nodes++;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
        // `- - - x`: each dash on the line opens one more level.
        while (c === 45 /* - */ && isBreak(yaml.charCodeAt(i + 1))) {
          nodes++;
          indents.push(indent + 1);
          i++;
          while (yaml[i + 1] === ' ') i++;
          c = yaml.charCodeAt(++i);
        }
        if (indents.length > limits.maxDepth) return deep;
        if (indent === 0 && indents.length === 1 && isKeyLine(yaml, i) && ++keys > limits.maxKeys) {
          return `frontmatter has more than ${limits.maxKeys} properties; it was not parsed`;
        }
        if (c === 10) {
          i--;
          continue;
        }
      }
    }
    switch (c) {
      case 34: // "
      case 39: // '  (a quote opens a scalar only where a value starts: not in "don't")
        if (prev === 0 || prev === 58 || prev === 45 || prev === 91 || prev === 123 || prev === 44 || prev === 63) quote = yaml[i]!;
        break;
      case 35: // # starts a comment after whitespace
        if (yaml[i - 1] === ' ' || yaml[i - 1] === '\t') i = skipToEol(yaml, i) - 1;
        break;
      case 91: // [
      case 123: // {
        nodes++;
        if (++flow > limits.maxDepth) return deep;
        break;
      case 93: // ]
      case 125: // }
        if (flow > 0) flow--;
        break;
      case 44: // ,
        if (flow > 0) nodes++;
        break;
      case 58: // `: ` a key/value pair
      case 63: // `? ` a complex key
        if (isBreak(yaml.charCodeAt(i + 1))) nodes++;
        break;
      case 124: // | or > right after a key: a block scalar follows
      case 62:
        if (prev === 58 && flow === 0) blockScalar = indents.length > 0 ? indents[indents.length - 1]! : 0;
        break;
      case 38: // & anchor
      case 42: // * alias
        nodes++;
        break;
    }
    if (c !== 32 && c !== 9 && c !== 13) prev = c;
    if (nodes > limits.maxNodes) return `frontmatter has more than ${limits.maxNodes} values; it was not parsed`;
  }
  return undefined;
}

function isBreak(c: number): boolean {
  return Number.isNaN(c) || c === 32 || c === 9 || c === 10 || c === 13;
}

function skipToEol(s: string, i: number): number {
  const nl = s.indexOf('\n', i);
  return nl < 0 ? s.length : nl;
}

/** Does the line starting at `i` hold a `key:` (a colon followed by a space or the line's end)? */
function isKeyLine(s: string, i: number): boolean {
  const end = skipToEol(s, i);
  for (let j = s.indexOf(':', i); j >= 0 && j < end; j = s.indexOf(':', j + 1)) if (isBreak(s.charCodeAt(j + 1))) return true;
  return false;
}

/**
 * Duplicate keys in any map, in linear time (yaml's own `uniqueKeys` compares every pair, which
 * froze the service for minutes on 100,000 keys). Returns the offending key node, if any.
 */
export function findDuplicateKey(doc: Document.Parsed): { key: string; node: Node } | undefined {
  let found: { key: string; node: Node } | undefined;
  const { isMap, isScalar, visit } = yamlLib();
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key;
        // Scalars compare by value (as yaml does: `1` and `"1"` differ by type, so tag the type).
        const id = isScalar(k) ? `${typeof k.value}:${String(k.value)}` : `node:${String(k)}`;
        if (seen.has(id)) {
          found = { key: String(isScalar(k) ? k.value : k), node: k as Node };
          return visit.BREAK;
        }
        seen.add(id);
      }
      return undefined;
    },
  });
  return found;
}
