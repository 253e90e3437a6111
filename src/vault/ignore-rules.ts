// Pure classification of paths inside a vault: which files are task notes, which are sync-conflict
// copies (reported to the person, never processed), and which are noise (editor temp files, our own
// temp files, Obsidian's and our dot-folders). Shared by the watcher and the index's scan so both
// agree on what a task note is.
import { isAbsolute, relative, sep } from 'node:path';
import { TASK_FOLDERS } from './layout.js';

export type TaskFolderName = (typeof TASK_FOLDERS)[number];
export type PathKind = 'task-note' | 'ignored' | 'conflict-copy';

export interface PathClass {
  kind: PathKind;
  /** The task folder the file sits directly in (set for 'task-note' and 'conflict-copy'). */
  folder?: TaskFolderName;
}

/** Editor and sync-tool temp/backup/lock files, matched against the base name. */
const TEMP_PATTERNS: readonly RegExp[] = [
  /^\./, // dot-files: .syncthing.*.tmp, .#emacs locks, our own .<name>.vr-<hex>.tmp, .DS_Store
  /\.sw[a-p]$/i, // vim swap files (.swp, .swo, … when several are open)
  /\.swx$/i,
  /~$/, // vim/emacs backups
  /\.tmp$/i,
  /\.crswap$/i, // Chrome File System Access API saves
  /^4913$/, // vim's "can I create a file here?" probe
  /^#.*#$/, // emacs auto-save files
];

const CONFLICT_PATTERNS: readonly RegExp[] = [
  /\.sync-conflict-/i, // Syncthing: name.sync-conflict-20240101-123456-ABCDEF.md
  /\([^)]*conflicted copy/i, // Dropbox "name (Bob's conflicted copy 2024-01-01).md", "(Conflicted copy …)"
  / \(conflict(?:ed)?(?: copy)?(?: [^)]*\d{4}-?\d{2}-?\d{2}[^)]*)?\)/i, // "name (Conflict).md", "name (conflict 2024-01-01).md"; a title "Fix (conflict markers)" is a task
];

/**
 * Folders the watcher leaves alone: nothing the engine does depends on their events (a note moved
 * into Done/ by a person shows as an unlink in Needs_Action/), and watching them costs a kernel
 * watch and two stats per note, which at 100,000 done notes meant ~8 s to ready and ~390 MB.
 */
const UNWATCHED: ReadonlySet<string> = new Set(['Done', 'Plans']);

function isTaskFolder(name: string): name is TaskFolderName {
  return (TASK_FOLDERS as readonly string[]).includes(name);
}

/** Path of `absPath` relative to the vault root as segments, or undefined when outside it. */
function segmentsOf(vaultRoot: string, absPath: string): string[] | undefined {
  // The common case without path.relative's normalising (a scan classifies every note): a plain
  // path under the root with no `.` or `..` segment and no doubled separator.
  if (absPath.length > vaultRoot.length + 1 && absPath.startsWith(vaultRoot) && absPath[vaultRoot.length] === sep && !vaultRoot.endsWith(sep)) {
    const tail = absPath.slice(vaultRoot.length + 1);
    const parts = tail.split(sep);
    if (parts.every((p) => p !== '' && p !== '.' && p !== '..')) return parts;
  }
  const rel = relative(vaultRoot, absPath);
  if (rel === '') return [];
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep);
}

/** True when the base name is an editor/sync temp or backup file rather than a note. */
export function isTempName(name: string): boolean {
  return TEMP_PATTERNS.some((re) => re.test(name));
}

/** True when the base name looks like a sync tool's conflict copy. */
export function isConflictName(name: string): boolean {
  return CONFLICT_PATTERNS.some((re) => re.test(name));
}

/**
 * Classify a file path. Only `*.md` files directly inside a task folder are task notes; conflict
 * copies there are 'conflict-copy'; everything else is 'ignored'. Does not touch the filesystem.
 */
export function classifyPath(vaultRoot: string, absPath: string): PathClass {
  const parts = segmentsOf(vaultRoot, absPath);
  if (!parts || parts.length !== 2) return { kind: 'ignored' };
  return classifyName(parts[0]!, parts[1]!);
}

/** classifyPath() of `name` in the vault's folder `folder` (a scan lists a folder it knows). */
export function classifyName(folder: string, name: string): PathClass {
  if (!isTaskFolder(folder) || isTempName(name)) return { kind: 'ignored' };
  // Conflict copies are checked before the extension: Dropbox puts the marker before `.md`,
  // Syncthing keeps `.md` last, and either way we want the person to hear about it.
  if (isConflictName(name)) return /\.md$/i.test(name) ? { kind: 'conflict-copy', folder } : { kind: 'ignored' };
  if (!/\.md$/i.test(name)) return { kind: 'ignored' };
  return { kind: 'task-note', folder };
}

/** Whether a directory's contents matter: only the vault root and the four task folders. */
export function shouldDescend(vaultRoot: string, absDir: string): boolean {
  const parts = segmentsOf(vaultRoot, absDir);
  if (!parts) return false;
  return parts.length === 0 || (parts.length === 1 && isTaskFolder(parts[0]!));
}

/**
 * True for anything the watchers should neither report nor descend into (also the polling
 * watcher's chokidar `ignored`). With `isDir` undefined (no stats yet) we judge by name only.
 */
export function isIgnoredForWatch(vaultRoot: string, absPath: string, isDir?: boolean): boolean {
  const parts = segmentsOf(vaultRoot, absPath);
  if (!parts) return true;
  if (parts.length === 0) return false;
  if (UNWATCHED.has(parts[0]!)) return true;
  if (parts.length === 1) return !(isTaskFolder(parts[0]!) && isDir !== false);
  if (parts.length > 2 || isDir === true) return true; // subfolders of task folders
  return classifyPath(vaultRoot, absPath).kind === 'ignored';
}
