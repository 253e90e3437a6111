// doctor's look at git workspaces: worktrees under WORKTREES_DIR and `vr/` branches that no task
// note references (left by a crash, a deleted note, or a task filed by hand). Reported, never removed:
// they may hold work; `vaultrunner gc`, `discard` or git itself clean them.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/config.js';
import { shortMessage } from '../../errors.js';
import type { VaultPaths } from '../../vault/layout.js';
import type { NoteStore } from '../../vault/note-store.js';
import { defaultWorktreesDir, listOrphans, scanWorktreesDir } from '../../workspace/worktree.js';
import { folderPath, SEARCH_FOLDERS } from './shared.js';

export interface WorkspaceCheck {
  ok: boolean;
  line: string;
  details?: string[];
}

/** Branch names every task note records (any status, Done/ included). */
async function noteBranches(paths: VaultPaths, store: NoteStore): Promise<Set<string>> {
  const out = new Set<string>();
  for (const folder of SEARCH_FOLDERS) {
    const dir = folderPath(paths, folder);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('.md')) continue;
      const r = await store.read(join(dir, name)).catch(() => undefined);
      if (r?.ok && typeof r.data.branch === 'string' && r.data.branch) out.add(r.data.branch);
    }
  }
  return out;
}

export async function checkWorkspaces(config: Config, paths: VaultPaths, store: NoteStore): Promise<WorkspaceCheck> {
  const dir = config.workspace.worktreesDir ?? defaultWorktreesDir();
  if (!existsSync(dir)) return { ok: true, line: `workspaces: no worktrees yet (${dir})` };
  try {
    const branches = await noteBranches(paths, store);
    const all = await scanWorktreesDir(dir);
    const ownedPaths = new Set(all.filter((w) => w.branch && branches.has(w.branch.replace(/^refs\/heads\//, ''))).map((w) => w.path));
    const orphans = await listOrphans(dir, { paths: ownedPaths, branches });
    const details = [
      ...orphans.worktrees.map((w) => `worktree ${w.path}${w.registered ? (w.branch ? ` (${w.branch.replace(/^refs\/heads\//, '')})` : '') : ' (git no longer knows it)'}: no task note references it`),
      ...orphans.branches.map((b) => `branch ${b.branch} in ${b.commonDir}: no task note references it`),
    ];
    const n = details.length;
    return {
      ok: true,
      line: n
        ? `workspaces: ${n} orphaned worktree(s)/branch(es) under ${dir} — look, then 'git worktree remove' / 'git branch -D' what you do not need`
        : `workspaces: ${all.length} worktree(s) under ${dir}, none orphaned`,
      ...(n ? { details } : {}),
    };
  } catch (err) {
    return { ok: true, line: `workspaces: could not look at ${dir}: ${shortMessage(err)}` };
  }
}
