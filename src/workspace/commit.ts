// Committing what the agent changed, untracked files included, with plumbing (add, write-tree,
// commit-tree, update-ref with the expected old value) rather than `git commit`: no hooks, no
// editor, no signing prompt, and one atomic ref update as the only step that matters. Called again
// after a crash it finds the tree already committed and commits nothing twice.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { faultPoint } from '../fault.js';
import { WorkspaceError } from './errors.js';
import { assertGitDirIntact } from './git-dir.js';
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
  /** The repository's common git dir: the checkout's `.git` must still lead to the git dir the
   *  repository records for it, or nothing is run there (git-dir.ts). */
  commonDir?: string;
  /** In place: the digest of the git config taken before the agent ran (gitConfigDigest). */
  configDigest?: string;
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
 *  With `capture`, the diff baseCommit..head comes back too (one git call for stats and patch,
 *  streamed to a file: a diff of any size commits, see statsAndPatch()).
 *
 *  The critical path is add → write-tree → commit-tree → update-ref; reading HEAD runs beside
 *  `add`, and the one diff beside the rest. The patch is written only once the branch has moved. */
export async function commitAll(req: CommitRequest & { capture?: CaptureOptions }): Promise<CommitResult & { diff?: DiffCapture }> {
  const spill = req.capture ? spillPath(req.capture.patchPath) : undefined;
  let diff: Promise<unknown> | undefined;
  try {
    return await commitSpilling(req, spill, (d) => (diff = d));
  } finally {
    // The diff may still be writing (a failed commit): only then can its file go for good.
    if (spill) await diff?.catch(() => undefined).then(() => rm(spill, { force: true }));
  }
}

async function commitSpilling(req: CommitRequest & { capture?: CaptureOptions }, spill: string | undefined, started: (diff: Promise<unknown>) => void): Promise<CommitResult & { diff?: DiffCapture }> {
  const { cwd } = req;
  // Before any git runs in a tree the agent had: git finds its config through the tree's `.git`.
  if (req.commonDir) await assertGitDirIntact(cwd, req.commonDir, req.configDigest);
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
  const staged = req.ownWorktree ? diffStaged(cwd, req.baseCommit, spill) : undefined;
  if (staged) started(staged);
  staged?.catch(() => undefined); // awaited below; a failed commit must not leave it unhandled
  const tree = (await git(['write-tree'], { cwd })).stdout.trim();
  const diff = staged ?? diffTree(cwd, req.baseCommit, tree, spill);
  started(diff);
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
  if (!req.capture || !spill) return { committed, ...parseNumstat(out.stdout, headCommit) };
  const { stats, diff: captured } = await statsAndPatch(cwd, req.baseCommit, tree, spill, headCommit, req.capture);
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
const DIFF_ARGS = ['--no-renames', '--no-ext-diff', '--no-textconv'];
// Only where a patch is wanted: `--binary` implies `-p`, so beside `--numstat` it made git write
// (and us hold) the whole patch after the counts.
const PATCH_ARGS = ['-p', '--full-index', '--binary'];

/** `diff-tree` of two tree-ish (commits or trees): numstat records; with `patchFile`, raw records
 *  and the patch instead, streamed into that file, never held in memory (stats come from the
 *  patch: see patch-stats.ts). `--full-index` also spares git the abbreviation look-ups of every
 *  `index` line. */
function diffTree(cwd: string, from: string, to: string, patchFile?: string) {
  return git(['diff-tree', '-r', '--no-commit-id', ...diffOutput(patchFile), ...DIFF_ARGS, from, to, '--'], { cwd, ...(patchFile ? { stdoutFile: patchFile } : {}) });
}

/** The same output for `from` against the index (what write-tree turns into the tree, byte for byte). */
function diffStaged(cwd: string, from: string, patchFile?: string) {
  return git(['diff-index', '--cached', ...diffOutput(patchFile), ...DIFF_ARGS, from, '--'], { cwd, ...(patchFile ? { stdoutFile: patchFile } : {}) });
}

const diffOutput = (patchFile?: string) => (patchFile ? ['--raw', '-z', ...PATCH_ARGS] : ['--numstat', '-z']);

/** Where the raw-and-patch output goes: beside the patch file (not a RAM-backed /tmp) when there is one. */
function spillPath(patchPath?: string): string {
  const unique = `${process.pid}.${randomBytes(4).toString('hex')}`;
  return patchPath ? `${patchPath}.${unique}.raw.tmp` : join(tmpdir(), `vaultrunner-diff-${unique}.tmp`);
}

/** Diff output up to this size is read whole (stats from its patch, one git pass); above it, only
 *  names and counts (`--numstat`) and the start of the patch are ever in memory. */
const IN_MEMORY_MAX = 16 * 1024 * 1024;

/** Files, insertions and deletions between two commits (renames counted as delete + add). */
export async function changeStats(cwd: string, from: string, to: string): Promise<ChangeStats> {
  return parseNumstat((await diffTree(cwd, from, to)).stdout, to);
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

/** Stats and patch from one `diff-tree -z --raw -p` output in `spill`; the full patch is written to `patchPath`. */
async function statsAndPatch(cwd: string, from: string, tree: string, spill: string, head: string, opts: CaptureOptions): Promise<{ stats: ChangeStats; diff: DiffCapture }> {
  const size = (await stat(spill)).size;
  if (size > IN_MEMORY_MAX) return largeStatsAndPatch(cwd, from, tree, spill, size, head, opts);
  const bytes = await readFile(spill);
  const split = splitRawAndPatch(bytes);
  const files = split && statsFromPatch(split.records, split.patch);
  // Never a guessed count: output that does not parse is asked of git again, the plain way.
  const stats = files ? totals(files, head) : parseNumstat((await diffTree(cwd, from, tree)).stdout, head);
  if (!split) return { stats, diff: await captureDiff(cwd, from, tree, opts) };
  const full = split.patch;
  if (opts.patchPath) await writeAtomically(opts.patchPath, full);
  const c = cap(full.subarray(0, opts.maxChars * 4 + 1).toString('utf8'), opts.maxChars);
  return { stats, diff: { text: c.text, truncated: c.truncated || Buffer.byteLength(c.text) < full.length, bytes: full.length, ...(opts.patchPath ? { patchPath: opts.patchPath } : {}) } };
}

/**
 * A diff too large to hold (a generated file of 70 MB): the counts come from git's `--numstat`
 * (names and numbers only), the patch is copied from the file past its raw records, and only its
 * start is read, for the review note.
 */
async function largeStatsAndPatch(cwd: string, from: string, tree: string, spill: string, size: number, head: string, opts: CaptureOptions): Promise<{ stats: ChangeStats; diff: DiffCapture }> {
  const stats = parseNumstat((await diffTree(cwd, from, tree)).stdout, head);
  const start = await patchStart(spill);
  // Output not shaped as expected: the patch is asked of git again, streamed the plain way.
  if (start === undefined) return { stats, diff: await captureDiff(cwd, from, tree, opts) };
  if (opts.patchPath) await copyAtomically(spill, start, opts.patchPath);
  const bytes = size - start;
  const c = cap(await readAt(spill, start, opts.maxChars * 4 + 1), opts.maxChars);
  return { stats, diff: { text: c.text, truncated: c.truncated || Buffer.byteLength(c.text) < bytes, bytes, ...(opts.patchPath ? { patchPath: opts.patchPath } : {}) } };
}

/** Offset of the patch in `diff -z --raw -p` output: after the first `\0\0` (a record's path is
 *  never empty, so only the empty field closing the records makes two NULs in a row). */
async function patchStart(file: string): Promise<number | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let nulBefore = false; // the chunk before ended with a NUL
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return undefined;
      if (pos === 0 && buf[0] !== 0x3a /* : */) return undefined;
      const chunk = buf.subarray(0, bytesRead);
      const across = nulBefore && chunk[0] === 0; // the two NULs straddle the chunks: at pos - 1, pos
      const i = across ? -1 : chunk.indexOf('\0\0', 0, 'latin1');
      if (across || i >= 0) {
        const start = pos + i + 2;
        return (await readAt(file, start, 11)) === 'diff --git ' ? start : undefined;
      }
      nulBefore = chunk[bytesRead - 1] === 0;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Up to `length` bytes of `file` from `position`, as UTF-8. */
async function readAt(file: string, position: number, length: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

async function copyAtomically(src: string, start: number, dest: string): Promise<void> {
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    await pipeline(createReadStream(src, { start }), createWriteStream(tmp));
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
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
  const args = ['diff-tree', '-r', '--no-commit-id', ...PATCH_ARGS, ...DIFF_ARGS, from, to, '--'];
  // Always through a file, never whole in memory: a diff has no size limit (a generated file).
  const tmp = opts.patchPath ? `${opts.patchPath}.${process.pid}.tmp` : spillPath();
  try {
    await git(args, { cwd, stdoutFile: tmp });
    const bytes = (await stat(tmp)).size;
    // Enough bytes for maxChars characters of UTF-8, plus one to know whether it was cut.
    const c = cap(await readAt(tmp, 0, Math.min(bytes, opts.maxChars * 4 + 1)), opts.maxChars);
    if (opts.patchPath) await rename(tmp, opts.patchPath);
    return { text: c.text, truncated: c.truncated || Buffer.byteLength(c.text) < bytes, bytes, ...(opts.patchPath ? { patchPath: opts.patchPath } : {}) };
  } finally {
    await rm(tmp, { force: true }); // gone already when renamed
  }
}

function cap(s: string, max: number): { text: string; truncated: boolean } {
  if (s.length <= max) return { text: s, truncated: false };
  const cut = s.lastIndexOf('\n', max);
  return { text: s.slice(0, cut > 0 ? cut + 1 : max), truncated: true };
}
