// Committing what the agent changed, untracked files included, with plumbing (add, write-tree,
// commit-tree, update-ref with the expected old value) rather than `git commit`: no hooks, no
// editor, no signing prompt, and one atomic ref update as the only step that matters. Called again
// after a crash it finds the tree already committed and commits nothing twice.
import { existsSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { faultPoint } from '../fault.js';
import { WorkspaceError } from './errors.js';
import { git, identityEnv } from './git.js';

export interface Author {
  name: string;
  email: string;
}

export const DEFAULT_AUTHOR: Author = { name: 'vaultrunner', email: 'vaultrunner@localhost' };

export interface CommitRequest {
  /** The checkout to commit in (the task's worktree, or the person's tree in in-place mode). */
  cwd: string;
  /** The fork point recorded at claim time; the stats cover baseCommit..HEAD. */
  baseCommit: string;
  title: string;
  /** The agent's final summary: the message body. */
  summary?: string;
  taskId: string;
  author?: Author;
  /**
   * True for our own task worktree: a stale index.lock there can only be left by a killed git of
   * ours (the agent has ended), so it is removed. Never set for a person's checkout.
   */
  ownWorktree?: boolean;
}

export interface FileStat {
  path: string;
  /** Lines added / deleted; null for a binary file. */
  insertions: number | null;
  deletions: number | null;
}

export interface ChangeStats {
  headCommit: string;
  filesChanged: number;
  insertions: number;
  deletions: number;
  files: FileStat[];
}

export interface CommitResult extends ChangeStats {
  /** False when there was nothing new to commit (nothing changed, or a re-run after a crash). */
  committed: boolean;
}

const SUBJECT_MAX = 72;

/** Subject from the title, body from the agent's summary, and a trailer naming the task. */
export function commitMessage(title: string, summary: string | undefined, taskId: string): string {
  const oneLine = title.replace(/\s+/g, ' ').trim() || taskId;
  const subject = oneLine.length > SUBJECT_MAX ? `${oneLine.slice(0, SUBJECT_MAX - 1)}…` : oneLine;
  const body = (summary ?? '').replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trim();
  return `${subject}\n\n${body ? `${body}\n\n` : ''}Vaultrunner-Task: ${taskId.replace(/\s+/g, ' ')}\n`;
}

/** Commit every change in `cwd` (tracked, untracked; not ignored) on the checked-out branch. */
export async function commitAll(req: CommitRequest): Promise<CommitResult> {
  const { cwd } = req;
  if (req.ownWorktree) await clearStaleIndexLock(cwd);
  await git(['add', '-A'], { cwd }); // no pathspec: the whole tree, wherever cwd is in it
  const tree = (await git(['write-tree'], { cwd })).stdout.trim();
  const head = (await git(['rev-parse', 'HEAD', 'HEAD^{tree}'], { cwd })).stdout.trim().split('\n');
  const [oldHead = '', headTree = ''] = head;
  let committed = false;
  let headCommit = oldHead;
  if (tree !== headTree) {
    const env = identityEnv(req.author ?? DEFAULT_AUTHOR);
    const msg = commitMessage(req.title, req.summary, req.taskId);
    headCommit = (await git(['commit-tree', '--no-gpg-sign', tree, '-p', oldHead, '-F', '-'], { cwd, env, input: msg })).stdout.trim();
    faultPoint('commit-before-ref');
    // Only moves the branch if it still points where we read it: never over someone else's commit.
    const upd = await git(['update-ref', '-m', `vaultrunner: commit ${req.taskId}`, 'HEAD', headCommit, oldHead], { cwd, okExitCodes: [128] });
    if (upd.exitCode !== 0) throw new WorkspaceError('BASE_MOVED', `the branch in ${cwd} moved while committing; try again`, { details: { stderr: upd.stderr } });
    committed = true;
    faultPoint('commit-after-ref');
  }
  return { committed, ...(await changeStats(cwd, req.baseCommit, headCommit)) };
}

/** Files, insertions and deletions between two commits (renames counted as delete + add). */
export async function changeStats(cwd: string, from: string, to: string): Promise<ChangeStats> {
  const r = await git(['diff', '--numstat', '-z', '--no-renames', '--no-ext-diff', from, to, '--'], { cwd });
  const files: FileStat[] = [];
  let insertions = 0;
  let deletions = 0;
  for (const rec of r.stdout.split('\0')) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(rec);
    if (!m) continue;
    const ins = m[1] === '-' ? null : Number(m[1]);
    const del = m[2] === '-' ? null : Number(m[2]);
    insertions += ins ?? 0;
    deletions += del ?? 0;
    files.push({ path: m[3]!, insertions: ins, deletions: del });
  }
  return { headCommit: to, filesChanged: files.length, insertions, deletions, files };
}

export interface DiffCapture {
  /** The start of the diff, cut at a line end to at most `maxChars`. */
  text: string;
  truncated: boolean;
  /** Size of the full patch in bytes. */
  bytes: number;
  /** Where the full patch was written (when asked). */
  patchPath?: string;
}

/**
 * The diff `from..to`: written whole to `patchPath` (git apply-able, binary included; via a temp
 * file and rename, so a reader never sees half a patch) and returned capped for the review note.
 */
export async function captureDiff(cwd: string, from: string, to: string, opts: { maxChars: number; patchPath?: string }): Promise<DiffCapture> {
  const args = ['diff', '--no-renames', '--no-ext-diff', '--no-textconv', '--binary', from, to, '--'];
  if (!opts.patchPath) {
    const r = await git(args, { cwd });
    return { ...cap(r.stdout, opts.maxChars), bytes: Buffer.byteLength(r.stdout) };
  }
  const tmp = `${opts.patchPath}.${process.pid}.tmp`;
  try {
    await git(args, { cwd, stdoutFile: tmp });
    const bytes = (await stat(tmp)).size;
    const fh = await open(tmp, 'r');
    let head: string;
    try {
      // Enough bytes for maxChars characters of UTF-8, plus one line to know whether it was cut.
      const buf = Buffer.alloc(Math.min(bytes, opts.maxChars * 4 + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
    await rename(tmp, opts.patchPath);
    const c = cap(head, opts.maxChars);
    return { text: c.text, truncated: c.truncated || Buffer.byteLength(c.text) < bytes, bytes, patchPath: opts.patchPath };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function cap(s: string, max: number): { text: string; truncated: boolean } {
  if (s.length <= max) return { text: s, truncated: false };
  const cut = s.lastIndexOf('\n', max);
  return { text: s.slice(0, cut > 0 ? cut + 1 : max), truncated: true };
}

async function clearStaleIndexLock(cwd: string): Promise<void> {
  const gitDir = (await git(['rev-parse', '--absolute-git-dir'], { cwd })).stdout.trim();
  const lock = join(gitDir, 'index.lock');
  if (existsSync(lock)) await rm(lock, { force: true });
}
