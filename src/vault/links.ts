// The one link resolver: a note's `plan`, `run_log` or any `[[link]]` → an existing file inside
// the vault, or a reason why not. domain/links.ts refuses `..`, absolute paths and the like; here
// the real path (symlinks followed) must still be inside the vault's real root, so a link to a
// symlink pointing out of the vault never gets read into a prompt, the dashboard or `show`.
import { realpath, stat } from '../os/quick-fs.js';
import { join } from 'node:path';
import { isInside, parseLink } from '../domain/links.js';
import type { VaultPaths } from './layout.js';

export type ResolvedLink = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Where `[[Folder/Note]]` points (vault root + path), or `[[Note]]` (first `defaultDir/Note.md`,
 * then the vault root). Only existing regular files whose real path is inside the vault.
 */
export async function resolveNoteLink(paths: VaultPaths, raw: unknown, defaultDir?: string): Promise<ResolvedLink> {
  const ref = parseLink(raw);
  if (!ref.ok) return ref;
  const file = `${ref.target}.md`;
  const candidates = ref.hasFolder ? [join(paths.root, file)] : [...(defaultDir ? [join(defaultDir, file)] : []), join(paths.root, file)];
  const realRoot = await realpath(paths.root).catch(() => paths.root);
  for (const c of candidates) {
    if (!isInside(c, paths.root)) continue;
    const real = await realpath(c).catch(() => undefined);
    if (!real) continue;
    if (!isInside(real, realRoot)) return { ok: false, reason: `link ${JSON.stringify(raw)} points outside the vault` };
    if (!(await stat(real).then((s) => s.isFile(), () => false))) continue;
    return { ok: true, path: c };
  }
  return { ok: false, reason: `link ${JSON.stringify(raw)}: no such note` };
}
