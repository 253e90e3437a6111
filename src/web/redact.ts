// Full filesystem paths outside the vault never reach the browser: the workspace roots, the
// vault's own location and the home directory are replaced by short names in every text the page
// shows (note bodies, properties, plans, transcripts).
import { homedir } from 'node:os';
import { basename } from 'node:path';

export type Redactor = (text: string) => string;

export interface RedactOptions {
  vaultRoot: string;
  /** Workspace roots with the names the page knows them by. */
  roots: readonly { path: string; name: string }[];
  home?: string;
}

export function createRedactor(opts: RedactOptions): Redactor {
  const pairs: [string, string][] = [];
  for (const r of opts.roots) pairs.push([r.path, `‹${r.name}›`]);
  pairs.push([opts.vaultRoot, '‹vault›']);
  const home = opts.home ?? homedir();
  if (home && home !== '/') pairs.push([home, '~']);
  // Longest first, so a root inside the home directory keeps its own name.
  pairs.sort((a, b) => b[0].length - a[0].length);
  const live = pairs.filter(([p]) => p.length > 1);
  return (text) => {
    let out = text;
    for (const [from, to] of live) if (out.includes(from)) out = out.split(from).join(to);
    return out;
  };
}

/** Display names of the workspace roots: basenames, numbered when two collide. */
export function rootNames(roots: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return roots.map((r) => {
    const base = basename(r) || 'root';
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

/** Deep-redact the strings of a JSON-safe value. */
export function redactValue(v: unknown, redact: Redactor): unknown {
  if (typeof v === 'string') return redact(v);
  if (Array.isArray(v)) return v.map((x) => redactValue(x, redact));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValue(x, redact)]));
  return v;
}
