// Committing what the agent changed, untracked files included, with plumbing (add, write-tree,
// commit-tree, update-ref with the expected old value) rather than `git commit`: no hooks, no
// editor, no signing prompt, and one atomic ref update as the only step that matters. Called again
// after a crash it finds the tree already committed and commits nothing twice.
import { existsSync } from 'node:fs';
import { open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { faultPoint } from '../fault.js';
import { WorkspaceError } from './errors.js';
import { git, identityEnv, isAncestor, resolveCommit } from './git.js';
import { splitRawAndPatch, statsFromPatch } from './patch-stats.js';

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
  /**
   * The task branch the commit must land on (our worktrees). An agent that switched branch or
   * detached HEAD would otherwise leave the work on a ref nobody merges.
   */
  branch?: string;
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

/** Commit every change in `cwd` (tracked, untracked; not ignored) on the checked-out branch.
 *  With `capture`, the diff baseCommit..head comes back too (one git call for stats and patch).
 *
 *  The critical path is add → write-tree → commit-tree → update-ref; reading HEAD runs beside
 *  `add`, and the one diff beside the rest. The patch is written only once the branch has moved. */
export async function commitAll(req: CommitRequest & { capture?: CaptureOptions }): Promise<CommitResult & { diff?: DiffCapture }> {
  const { cwd } = req;
  const [head, added] = await Promise.all([
    git(['rev-parse', '--absolute-git-dir', 'HEAD', 'HEAD^{tree}', '--symbolic-full-name', 'HEAD'], { cwd }),
    git(['add', '-A'], { cwd, okExitCodes: req.ownWorktree ? [128] : [] }), // no pathspec: the whole tree, wherever cwd is in it
  ]);
  const [gitDir = '', oldHead = '', headTree = '', headRef = ''] = head.stdout.trim().split('\n');
  if (req.branch !== undefined && headRef !== `refs/heads/${req.branch}`) await reattach(cwd, req.branch, oldHead, headRef);
  if (added.exitCode !== 0) {
    // A stale lock in our own worktree can only be a killed git of ours (the agent has ended);
    // without one, the second `add` fails again and says why.
    if (existsSync(join(gitDir, 'index.lock'))) await rm(join(gitDir, 'index.lock'), { force: true });
    await git(['add', '-A'], { cwd });
  }
  // Our own worktree's index is ours alone (the agent has ended): the diff reads it beside
  // write-tree. A person's checkout is diffed from the tree written, which nobody can change.
  const patch = req.capture !== undefined;
  const staged = req.ownWorktree ? diffStaged(cwd, req.baseCommit, patch) : undefined;
  staged?.catch(() => undefined); // awaited below; a failed commit must not leave it unhandled
  const tree = (await git(['write-tree'], { cwd })).stdout.trim();
  const diff = staged ?? diffTree(cwd, req.baseCommit, tree, patch);
  diff.catch(() => undefined);
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
  const out = await diff;
  if (!req.capture) return { committed, ...parseNumstat(out.stdout, headCommit) };
  const { stats, diff: captured } = await statsAndPatch(cwd, req.baseCommit, tree, out.stdoutBytes, headCommit, req.capture);
  return { committed, ...stats, diff: captured };
}

/**
 * HEAD is not on the task branch (the agent ran `git checkout -b`, `switch`, or detached it).
 * When HEAD continues the branch, the branch is moved up to it (compare-and-swap) and HEAD put back
 * on the branch, so the commit below lands there; otherwise nothing is touched and it says so.
 */
async function reattach(cwd: string, branch: string, head: string, headRef: string): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const where = headRef === 'HEAD' ? `HEAD is detached at ${head.slice(0, 10)}` : `HEAD is on ${headRef.replace(/^refs\/heads\//, '')}`;
  const tip = await resolveCommit(cwd, ref);
  if (!tip || !(await isAncestor(cwd, tip, head))) {
    throw new WorkspaceError('BRANCH_INVALID', `the agent left the task branch ${branch} (${where}, not a continuation of ${branch}); nothing was committed and the worktree ${cwd} is kept as it is`);
  }
  if (tip !== head) {
    const upd = await git(['update-ref', '-m', `vaultrunner: ${branch} follows the agent's commits`, ref, head, tip], { cwd, okExitCodes: [128] });
    if (upd.exitCode !== 0) throw new WorkspaceError('BASE_MOVED', `the branch ${branch} moved while committing; try again`, { details: { stderr: upd.stderr } });
  }
  // The branch and HEAD are the same commit now: index and files stay as they are.
  await git(['symbolic-ref', '-m', `vaultrunner: back on ${branch}`, 'HEAD', ref], { cwd });
}

// Plumbing `diff-tree`, not `git diff`: the person's diff.noprefix / diff.mnemonicPrefix / diff.relative
// settings would change the patch's paths (and its `git apply`-ability); plumbing ignores them.
const DIFF_ARGS = ['--no-renames', '--no-ext-diff', '--no-textconv', '--binary'];

/** `diff-tree` of two tree-ish (commits or trees): numstat records; with `patch`, raw records and
 *  the patch instead (stats come from the patch: see patch-stats.ts). `--full-index` also spares
 *  git the abbreviation look-ups of every `index` line. */
function diffTree(cwd: string, from: string, to: string, patch: boolean) {
  return git(['diff-tree', '-r', '--no-commit-id', ...diffOutput(patch), ...DIFF_ARGS, from, to, '--'], { cwd });
}

/** The same output for `from` against the index (what write-tree turns into the tree, byte for byte). */
function diffStaged(cwd: string, from: string, patch: boolean) {
  return git(['diff-index', '--cached', ...diffOutput(patch), ...DIFF_ARGS, from, '--'], { cwd });
}

const diffOutput = (patch: boolean) => (patch ? ['--raw', '-z', '-p', '--full-index'] : ['--numstat', '-z']);

/** Files, insertions and deletions between two commits (renames counted as delete + add). */
export async function changeStats(cwd: string, from: string, to: string): Promise<ChangeStats> {
  return parseNumstat((await diffTree(cwd, from, to, false)).stdout, to);
}

function parseNumstat(out: string, to: string): ChangeStats {
  const files: FileStat[] = [];
  let insertions = 0;
  let deletions = 0;
  for (const rec of out.split('\0')) {
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

/** Stats and patch from one `diff-tree -z --raw -p` output; the full patch is written to `patchPath`. */
async function statsAndPatch(cwd: string, from: string, tree: string, bytes: Buffer, head: string, opts: CaptureOptions): Promise<{ stats: ChangeStats; diff: DiffCapture }> {
  const split = splitRawAndPatch(bytes);
  const patch = split?.patch ?? Buffer.alloc(0);
  const files = split && statsFromPatch(split.records, patch);
  // Never a guessed count: output that does not parse is asked of git again, the plain way.
  const stats = files ? totals(files, head) : parseNumstat((await diffTree(cwd, from, tree, false)).stdout, head);
  const full = split ? patch : (await git(['diff-tree', '-r', '--no-commit-id', '-p', '--full-index', ...DIFF_ARGS, from, tree, '--'], { cwd })).stdoutBytes;
  if (opts.patchPath) await writeAtomically(opts.patchPath, full);
  const c = cap(full.subarray(0, opts.maxChars * 4 + 1).toString('utf8'), opts.maxChars);
  return { stats, diff: { text: c.text, truncated: c.truncated || Buffer.byteLength(c.text) < full.length, bytes: full.length, ...(opts.patchPath ? { patchPath: opts.patchPath } : {}) } };
}

function totals(files: FileStat[], head: string): ChangeStats {
  let insertions = 0;
  let deletions = 0;
  for (const f of files) {
    insertions += f.insertions ?? 0;
    deletions += f.deletions ?? 0;
  }
  return { headCommit: head, filesChanged: files.length, insertions, deletions, files };
}

async function writeAtomically(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface CaptureOptions {
  /** Cap of the text returned for the review note (cut at a line end). */
  maxChars: number;
  /** Where the full patch goes (written via a temp file and rename). */
  patchPath?: string;
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
export async function captureDiff(cwd: string, from: string, to: string, opts: CaptureOptions): Promise<DiffCapture> {
  const args = ['diff-tree', '-r', '--no-commit-id', '-p', '--full-index', ...DIFF_ARGS, from, to, '--'];
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
