// `merge`, `discard` and `gc`: what a person asks of a task's git branch and worktree. The same
// rules as the service (engine/finish-task.ts): a merge never touches uncommitted changes and a
// refused one leaves the task in review with the reason; nothing unmerged is deleted unless the
// person names the task (`discard`).
import { decideAndWrite } from '../../engine/transition.js';
import { describeMerge, mergeAndClean, taskGit, type Sink, type TaskGit } from '../../engine/finish-task.js';
import { noteStatus, type Status } from '../../domain/status.js';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NoteGoneError, shortMessage, UsageError } from '../../errors.js';
import { createLogger, silentLogger } from '../../log/logger.js';
import { LeaseStore } from '../../vault/lease-store.js';
import { inspectLock } from '../../vault/service-lock.js';
import { git, resolveCommit } from '../../workspace/git.js';
import { MERGE_MODES, type MergeMode } from '../../workspace/merge.js';
import { discardWorkspace, gcMerged, removeWorktree } from '../../workspace/worktree.js';
import type { Command, CommandContext } from '../command.js';
import { findTask, folderPath, openVault, RefusedError, SEARCH_FOLDERS, type FoundTask } from './shared.js';

interface Opened {
  sink: Sink;
  close: () => void;
  serviceRunning: boolean;
  leases: LeaseStore;
}

async function open(ctx: CommandContext): Promise<Opened> {
  const { config, paths, store } = openVault(ctx);
  const lock = await inspectLock(paths.lock).catch(() => ({ state: 'free' as const }));
  // The running service logs what it sees; without one, the CLI writes the log line itself.
  const log = lock.state === 'held' ? { logger: silentLogger(), close: () => {} } : createLogger({ vaultDir: paths.root, level: 'info', console: false });
  return { sink: { config, paths, store, logger: log.logger }, close: log.close, serviceRunning: lock.state === 'held', leases: new LeaseStore(paths.leases, config.leaseTtlMs) };
}

async function readTask(o: Opened, name: string): Promise<{ found: FoundTask; data: Record<string, unknown>; status: Status | undefined }> {
  const found = await findTask(o.sink.paths, name);
  const r = await o.sink.store.read(found.path);
  if (!r.ok) throw new RefusedError(`cannot read ${found.id}: ${r.error.message}`);
  return { found, data: r.data, status: noteStatus(r.data) };
}

async function requireGit(o: Opened, found: FoundTask, data: Record<string, unknown>, anyRun: boolean): Promise<TaskGit> {
  const g = await taskGit(o.sink, found.id, data, { anyRun }).catch((err: unknown) => {
    throw new RefusedError(`${found.id}: its workspace cannot be reached: ${shortMessage(err)}`);
  });
  if (!g) throw new RefusedError(`${found.id} has no git branch of its own (the note records no working_dir in a repository, branch and base_branch${anyRun ? '' : ' and head_commit'})`);
  return g;
}

async function notRunning(o: Opened, id: string, status: Status | undefined, what: string): Promise<void> {
  if (status === 'executing' || (await o.leases.get(id))) throw new RefusedError(`cannot ${what} ${id}: it is running now; pause or cancel it first`);
}

async function runMerge(ctx: CommandContext): Promise<number> {
  const o = await open(ctx);
  try {
    const { found, data, status } = await readTask(o, ctx.positionals[0]!);
    const raw = ctx.values.mode;
    if (raw !== undefined && !(MERGE_MODES as readonly unknown[]).includes(raw)) throw new UsageError(`--mode must be one of ff, merge, squash (got ${JSON.stringify(raw)})`);
    const mode = (raw as MergeMode | undefined) ?? (o.sink.config.workspace.merge !== 'none' ? o.sink.config.workspace.merge : 'merge');
    if (mode === 'none') throw new UsageError('--mode none merges nothing; use ff, merge or squash');
    await notRunning(o, found.id, status, 'merge');
    if (status !== 'in_review' && status !== 'done') throw new RefusedError(`cannot merge ${found.id}: it is ${status ?? JSON.stringify(data.status)}; only a task in review or done is merged`);
    const g = await requireGit(o, found, data, false);
    const step = await mergeAndClean(o.sink, g, mode);
    if (!step.ok) {
      const error = `${step.error.code}: ${shortMessage(step.error, 280)}`;
      // The reason goes into the note too, where the person reviews the task; a done task goes back to review.
      if (!step.error.transient && found.folder !== 'Done') {
        await decideAndWrite(o.sink, found.path, found.id, 'person', (_d, from) => (from === 'in_review' || from === 'done' ? { to: 'in_review', edits: { error } } : null));
      }
      throw new RefusedError(`merge of ${g.branch} into ${g.baseBranch} refused: ${error}${step.error.transient ? ' (try again)' : ''}`);
    }
    const r = step.result;
    const commit = r.status === 'merged' ? r.commit : r.status === 'already-merged' ? r.baseCommit : undefined;
    const edits = { error: undefined, ...(commit ? { merge_commit: commit } : {}) };
    await decideAndWrite(o.sink, found.path, found.id, 'person', (_d, from) => (from === 'in_review' || from === 'done' ? { to: 'done', edits } : null));
    let filed = '';
    if (found.folder !== 'Done') {
      // The service may file it first (it sees a done note whose branch is already merged).
      const target = await o.sink.store.move(found.path, o.sink.paths.done).catch((err: unknown) => (err instanceof NoteGoneError ? undefined : Promise.reject(err)));
      filed = target ? '; filed in Done/' : '';
    }
    ctx.io.stdout.write(`${found.id}: ${describeMerge(r, g)}${step.worktreeRemoved ? '; worktree removed' : ''}${filed}\n`);
    return 0;
  } finally {
    o.close();
  }
}

async function runDiscard(ctx: CommandContext): Promise<number> {
  const o = await open(ctx);
  try {
    const { found, data, status } = await readTask(o, ctx.positionals[0]!);
    await notRunning(o, found.id, status, 'discard');
    const allowed: (Status | undefined)[] = ['cancelled', 'failed', 'in_review', 'done'];
    if (!allowed.includes(status)) throw new RefusedError(`cannot discard ${found.id}: it is ${status ?? JSON.stringify(data.status)}; only a cancelled, failed, in-review or done task is discarded (cancel it first)`);
    const g = await requireGit(o, found, data, true);
    if (g.branch === g.baseBranch) throw new RefusedError(`cannot discard ${found.id}: its branch ${g.branch} is its base branch`);
    const had = (await resolveCommit(g.repoRoot, `refs/heads/${g.branch}`)) !== undefined;
    const done = g.worktree ? await discardWorkspace(g.repoRoot, g.worktree, g.branch) : { worktree: false, branch: had && (await git(['branch', '-D', '--', g.branch], { cwd: g.repoRoot }), true) };
    const parts = [done.worktree ? `worktree ${g.worktree} removed` : 'no worktree', done.branch ? `branch ${g.branch} deleted` : `no branch ${g.branch}`];
    o.sink.logger.info({ component: 'cli', task: found.id, discarded: g.branch, worktreeRemoved: done.worktree, branchDeleted: done.branch }, `${found.id}: discarded by a person: ${parts.join(', ')}`);
    ctx.io.stdout.write(`${found.id}: ${parts.join('; ')}\n`);
    return 0;
  } finally {
    o.close();
  }
}

async function runGc(ctx: CommandContext): Promise<number> {
  const o = await open(ctx);
  const out: string[] = [];
  try {
    // Every task note, in every folder: its branch is kept unless the task is finished.
    const finished: TaskGit[] = [];
    const keep = new Map<string, Set<string>>();
    const bases = new Map<string, Set<string>>();
    for (const folder of SEARCH_FOLDERS) {
      const dir = folderPath(o.sink.paths, folder);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.md')) continue;
        const id = name.slice(0, -3);
        const r = await o.sink.store.read(join(dir, name)).catch(() => undefined);
        if (!r?.ok) continue;
        const g = await taskGit(o.sink, id, r.data, { anyRun: true }).catch(() => undefined);
        if (!g) continue;
        const s = noteStatus(r.data) ?? (folder === 'Done' ? 'done' : undefined);
        const live = !(s === 'done' || s === 'cancelled') || (await o.leases.get(id)) !== undefined;
        if (live) (keep.get(g.repoRoot) ?? keep.set(g.repoRoot, new Set()).get(g.repoRoot)!).add(g.branch);
        else finished.push(g);
        (bases.get(g.repoRoot) ?? bases.set(g.repoRoot, new Set()).get(g.repoRoot)!).add(g.baseBranch);
      }
    }
    for (const g of finished) {
      if (!g.worktree || keep.get(g.repoRoot)?.has(g.branch)) continue;
      try {
        if (await removeWorktree(g.repoRoot, g.worktree)) out.push(`removed worktree ${g.worktree} (${g.task.id}, finished)`);
      } catch (err) {
        out.push(`kept worktree ${g.worktree} (${g.task.id}): ${shortMessage(err)}`);
      }
    }
    for (const [repo, names] of bases) {
      for (const base of names) {
        const removed = await gcMerged(repo, base, { keep: keep.get(repo) ?? new Set() }).catch((err: unknown) => (out.push(`${repo}: ${base}: ${shortMessage(err)}`), [] as string[]));
        for (const b of removed) out.push(`deleted branch ${b} in ${repo} (its work is in ${base})`);
      }
    }
    ctx.io.stdout.write(out.length ? `${out.join('\n')}\n` : 'nothing to clean: no finished worktree, no merged task branch\n');
    return 0;
  } finally {
    o.close();
  }
}

export const mergeCommand: Command = {
  name: 'merge',
  summary: "merge a reviewed or done task's branch into its base now (never over uncommitted changes)",
  usage: 'merge <task> [--mode ff|merge|squash]',
  help: 'Merges the task branch into its base_branch the way MERGE says (--mode overrides; with MERGE=none\nthe default is merge). Refused (exit 1, nothing changed, the reason also in the note\'s error:) when\nthe base is checked out with uncommitted changes, the merge conflicts, or a fast-forward is not\npossible. On success the task is done, its worktree removed and the note filed in Done/.',
  options: { mode: { type: 'string' } },
  positionals: [1, 1],
  run: runMerge,
};

export const discardCommand: Command = {
  name: 'discard',
  summary: "delete a cancelled, failed or reviewed task's worktree and branch (its unmerged work is lost)",
  usage: 'discard <task>',
  help: 'Removes the task\'s worktree (uncommitted changes included) and deletes its branch. Only for a\ntask that is not running: cancelled, failed, in review or done. The note is left as it is.',
  options: {},
  positionals: [1, 1],
  run: runDiscard,
};

export const gcCommand: Command = {
  name: 'gc',
  summary: 'remove worktrees of finished tasks and task branches already in their base',
  usage: 'gc',
  help: 'Removes the clean worktrees of done and cancelled tasks, and deletes vr/ branches whose work is\nalready in their base branch (merged, fast-forwarded or squashed). Branches of tasks still live\nand anything unmerged are kept.',
  options: {},
  positionals: [0, 0],
  run: runGc,
};
