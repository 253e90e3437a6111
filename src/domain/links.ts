// The one reading of a note's link properties (`plan`, `blocked_by`, `run_log`): `[[Note]]`,
// `[[Folder/Note|alias]]`, `[[Note#heading]]`, `Folder/Note.md` or `Note`. A link names a note
// inside the vault, so anything that could leave it (`..`, an absolute path, a drive letter, a
// backslash, a NUL) is refused here; the vault layer adds the symlink check. Pure.
import { isAbsolute, relative, sep } from 'node:path';

export type LinkRef =
  /** Vault-relative note path without `.md`, e.g. `Plans/PLAN_x`, or a bare name, e.g. `PLAN_x`. */
  | { ok: true; target: string; name: string; hasFolder: boolean }
  | { ok: false; reason: string };

// Hoisted: a regex literal inside a function is a new RegExp object on every call.
const WIKILINK = /^\[\[(.*)\]\]$/s;
const MD_EXT = /\.md$/i;
const BACKSLASH_OR_NUL = /[\\\0]/;
const DRIVE = /^[a-z]:/i;

/** The target of a link, with alias, heading and `.md` removed, checked never to leave the vault. */
export function parseLink(raw: unknown): LinkRef {
  if (typeof raw !== 'string') return { ok: false, reason: 'not text' };
  let s = raw.trim();
  const m = WIKILINK.exec(s);
  if (m) s = m[1]!;
  s = s.split('|')[0]!.split('#')[0]!.trim().replace(MD_EXT, '');
  if (!s) return { ok: false, reason: 'empty link' };
  if (BACKSLASH_OR_NUL.test(s) || DRIVE.test(s)) return { ok: false, reason: `link ${JSON.stringify(raw)} is not a vault path` };
  if (s.startsWith('/') || isAbsolute(s)) return { ok: false, reason: `link ${JSON.stringify(raw)} is absolute; links stay inside the vault` };
  const parts = s.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) return { ok: false, reason: `link ${JSON.stringify(raw)} leaves the vault or is not a note path` };
  return { ok: true, target: s, name: parts[parts.length - 1]!, hasFolder: parts.length > 1 };
}

/** The note name a link points to (its last path part), or '' when it is no usable link. */
export function linkName(raw: string): string {
  const r = parseLink(raw);
  return r.ok ? r.name : '';
}

/** Whether `child` is `parent` or inside it (both absolute, already resolved). */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
