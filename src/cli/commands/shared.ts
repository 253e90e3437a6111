// What the task commands share: opening the vault from flags/.env, finding a task by name in the
// task folders, typed errors for "no such task" / "name taken" / "refused", and time formatting.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/config.js';
import { VaultrunnerError } from '../../errors.js';
import { linkName, validateTask, type Validation } from '../../lifecycle/task.js';
import { vaultPaths, type VaultPaths } from '../../vault/layout.js';
import { NoteStore, type NoteRead } from '../../vault/note-store.js';
import type { CommandContext } from '../command.js';
import { configFor } from '../load-config.js';

/** No task with that name in Needs_Action/, Pending_Approval/ or Done/ (exit 1). */
export class TaskNotFoundError extends VaultrunnerError {
  constructor(readonly taskName: string) {
    super('TASK_NOT_FOUND', `no task named ${JSON.stringify(taskName)} in Needs_Action/, Pending_Approval/ or Done/; see 'vaultrunner list --all'`);
  }
}

/** A note with that name already exists (exit 1; never overwritten). */
export class TaskExistsError extends VaultrunnerError {
  constructor(readonly path: string) {
    super('NOTE_EXISTS', `a task note with that name already exists: ${path}; pick another title`);
  }
}

/** The edit makes no sense for the task's current state (exit 1, nothing written). */
export class RefusedError extends VaultrunnerError {
  constructor(message: string) {
    super('EDIT_REFUSED', message);
  }
}

export const SEARCH_FOLDERS = ['Needs_Action', 'Pending_Approval', 'Done'] as const;
export type SearchFolder = (typeof SEARCH_FOLDERS)[number];

export interface OpenVault {
  config: Config;
  paths: VaultPaths;
  store: NoteStore;
}

/** Config from .env + flags, and the vault it names; a missing vault is an error (exit 1). */
export function openVault(ctx: CommandContext): OpenVault {
  const config = configFor(ctx);
  const paths = vaultPaths(config.vaultDir);
  if (!existsSync(paths.needsAction)) {
    throw new VaultrunnerError('VAULT_MISSING', `no vault at ${paths.root} (Needs_Action/ is missing); create one with 'vaultrunner init ${paths.root}' or pass --vault <dir>`);
  }
  return { config, paths, store: new NoteStore() };
}

export function folderPath(paths: VaultPaths, folder: SearchFolder): string {
  return folder === 'Needs_Action' ? paths.needsAction : folder === 'Pending_Approval' ? paths.pendingApproval : paths.done;
}

export interface FoundTask {
  id: string;
  path: string;
  folder: SearchFolder;
}

/**
 * A task by name: `fix-login`, `[[fix-login]]`, `Needs_Action/fix-login.md`. Needs_Action/ wins
 * over Pending_Approval/ over Done/; a case-insensitive match is accepted when it is unique.
 */
export async function findTask(paths: VaultPaths, raw: string): Promise<FoundTask> {
  const name = linkName(raw);
  if (!name || name === '.' || name === '..' || /[\\/\0]/.test(name)) throw new TaskNotFoundError(raw);
  for (const folder of SEARCH_FOLDERS) {
    const path = join(folderPath(paths, folder), `${name}.md`);
    if (existsSync(path)) return { id: name, path, folder };
  }
  const lower = `${name}.md`.toLowerCase();
  const hits: FoundTask[] = [];
  for (const folder of SEARCH_FOLDERS) {
    const names = await readdir(folderPath(paths, folder)).catch(() => [] as string[]);
    for (const n of names) if (n.toLowerCase() === lower) hits.push({ id: n.replace(/\.md$/i, ''), path: join(folderPath(paths, folder), n), folder });
  }
  if (hits.length === 1) return hits[0]!;
  throw new TaskNotFoundError(raw);
}

/** A note read and validated the same way the index does it. */
export function validated(id: string, read: NoteRead): Validation | { ok: false; unreadable: string } {
  if (!read.ok) return { ok: false, unreadable: read.error.message };
  return validateTask(id, read.data);
}

/** Local wall-clock time, HH:MM:SS. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Compact age: 45s, 12m, 3h, 5d. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** An Obsidian date or date-time property (local time) as epoch ms, if it is one. */
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

export function parseLocalDateTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = LOCAL_DATE_TIME.exec(v.trim());
  if (!m) return undefined;
  const t = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)).getTime();
  return Number.isNaN(t) ? undefined : t;
}

/** Read all of stdin as text (for `new` when no --body is given and stdin is not a terminal). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Whether a writable stream is a terminal (for colour). */
export function isTty(stream: NodeJS.WritableStream): boolean {
  return Boolean((stream as { isTTY?: boolean }).isTTY);
}
