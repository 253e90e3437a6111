// Where things live in a vault. Task folders are what people see; `.vaultrunner/` is machine state
// (leases, locks, backoff), which Obsidian does not index.
import { basename, dirname, join, relative, sep } from 'node:path';

export const TASK_FOLDERS = ['Needs_Action', 'Plans', 'Done', 'Pending_Approval'] as const;
export type TaskFolder = 'Needs_Action' | 'Done' | 'Pending_Approval';
export const VAULT_FOLDERS = ['Needs_Action', 'Plans', 'Done', 'Pending_Approval', 'Logs', 'Templates'] as const;
export const STATE_DIR = '.vaultrunner';

export interface VaultPaths {
  root: string;
  needsAction: string;
  plans: string;
  done: string;
  pendingApproval: string;
  logs: string;
  runs: string;
  templates: string;
  /** Review notes (`<task>.md` and its `.patch`), written after a run in git. */
  reviews: string;
  state: string;
  leases: string;
  taskState: string;
  scratch: string;
  lock: string;
  dashboard: string;
}

export function vaultPaths(root: string): VaultPaths {
  const state = join(root, STATE_DIR);
  return {
    root,
    needsAction: join(root, 'Needs_Action'),
    plans: join(root, 'Plans'),
    done: join(root, 'Done'),
    pendingApproval: join(root, 'Pending_Approval'),
    logs: join(root, 'Logs'),
    runs: join(root, 'Logs', 'runs'),
    templates: join(root, 'Templates'),
    reviews: join(root, 'Reviews'),
    state,
    leases: join(state, 'leases'),
    taskState: join(state, 'tasks'),
    scratch: join(state, 'work'),
    lock: join(state, 'service.lock'),
    dashboard: join(root, 'Dashboard.md'),
  };
}

/** The vault of a path inside its `.vaultrunner/` state folder, else undefined. */
export function vaultRootOfState(path: string): string | undefined {
  const parts = path.split(sep);
  const i = parts.lastIndexOf(STATE_DIR);
  return i > 0 ? parts.slice(0, i).join(sep) || sep : undefined;
}

/** The folder of a note directly inside one of the task folders, else undefined. */
export function folderOf(paths: VaultPaths, file: string): (typeof TASK_FOLDERS)[number] | undefined {
  const rel = relative(paths.root, dirname(file));
  return (TASK_FOLDERS as readonly string[]).includes(rel) ? (rel as (typeof TASK_FOLDERS)[number]) : undefined;
}

const MD_EXT = /\.md$/i;

export function taskIdOf(file: string): string {
  return basename(file).replace(MD_EXT, '');
}

/** Vault-relative path without `.md`, as an Obsidian wikilink target. */
export function linkTarget(paths: VaultPaths, file: string): string {
  return relative(paths.root, file).split(sep).join('/').replace(/\.md$/i, '');
}

export function wikilink(target: string): string {
  return `[[${target}]]`;
}
