// The one module that reads and writes notes. Writes are atomic (temp file, fsync, rename) and
// compare-and-swap: if the note changed since we read it, the edit is re-applied to the new text,
// so a person's newer edit always wins. Moves never overwrite.
import { createHash } from '../os/lazy-crypto.js';
import { tempTag } from '../os/temp-tag.js';
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { chmod, readFile, rename, stat, unlink } from '../os/quick-fs.js';
import { basename, dirname, join } from 'node:path';
import { NoteChangedError, NoteGoneError, NoteParseError, VaultrunnerError } from '../errors.js';
import { linkOrCopy, syncDir, writeSynced } from './durable-fs.js';
import { ensureVaultDir, readTextOneShot } from '../os/safe-open.js';
import { readToEnd } from '../os/read-to-end.js';
import { applyEdits, FrontmatterSyntaxError, frontmatterData, splitNote, type FieldEdits } from './frontmatter.js';
import type { Logger } from 'pino';
import { utf8Prefix } from './state-key.js';

export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Permission bits, carried over to the file that replaces this one (not compared). */
  mode?: number;
}

export interface NoteSnapshot {
  path: string;
  text: string;
  stamp: FileStamp;
  /** sha1 of the text, computed on first use (a one-shot read of every note never needs it). */
  readonly hash: string;
}

export function snapshotOf(path: string, text: string, stamp: FileStamp): NoteSnapshot {
  return new Snapshot(path, text, stamp);
}

// A class, not a literal with a getter: one shape and no closure per note read.
class Snapshot implements NoteSnapshot {
  private memo: string | undefined;
  constructor(
    readonly path: string,
    readonly text: string,
    readonly stamp: FileStamp,
  ) {}

  get hash(): string {
    return (this.memo ??= hashText(this.text));
  }
}

export type NoteRead =
  | { ok: true; note: NoteSnapshot; data: Record<string, unknown>; body: string }
  | { ok: false; note?: NoteSnapshot; error: NoteParseError };

/** Notes larger than this are reported, not parsed (a 1 MB body is fine). */
export const MAX_NOTE_BYTES = 16 * 1024 * 1024;

// ignoreBOM keeps a BOM in the text, so it survives our edits byte for byte.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function hashText(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

export function stampOf(s: { size: number; mtimeMs: number; ctimeMs: number; ino: number; mode?: number }): FileStamp {
  return { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, mode: s.mode === undefined ? undefined : s.mode & 0o7777 };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/** Bytes of the note's name kept in a temp name: with `.`, `.vr-<hex>.tmp` it stays under 255. */
const TEMP_NAME_BYTES = 200;

/** Name of our temp files: a dot-file (ignored by the watcher and by Obsidian) beside the target.
 *  A long name (Obsidian allows ~80 CJK characters and more) is cut, or no write could ever land. */
export function tempNameFor(file: string): string {
  const name = basename(file);
  return join(dirname(file), `.${Buffer.byteLength(name) > TEMP_NAME_BYTES ? utf8Prefix(name, TEMP_NAME_BYTES) : name}.vr-${tempTag()}.tmp`);
}

/** A name tempNameFor gives, exactly; group 1: the note's name (cut when it was long). */
export const TEMP_NAME = /^\.(.+)\.vr-[0-9a-f]{8}\.tmp$/s;

export interface NoteStoreOptions {
  /** Called after each successful write or move, so the index can recognise our own changes. */
  onWrite?: (path: string, text: string | undefined, movedTo?: string) => void;
  /** The vault: folders we create notes in may not lead out of it. Without it, a folder's parent
   *  stands in (Done/ may not be a link out of the folder that holds it). */
  vaultRoot?: string;
  /** Tests: run between a move's link into its folder and its taking of the source (a save
   *  landing on either name in that gap). */
  afterLink?: (source: string, target: string) => void | Promise<void>;
  /** Where a move that kept both versions says so (the service's log; Logs/ in the vault). */
  logger?: Pick<Logger, 'warn'>;
}

export class NoteStore {
  constructor(private readonly opts: NoteStoreOptions = {}) {}

  private async safeDir(dir: string): Promise<void> {
    await ensureVaultDir(this.opts.vaultRoot ?? dirname(dir), dir);
  }

  /** Read a note's bytes; NoteGoneError when it does not exist. (The blocking read: a note is
   *  one small read the page cache answers; see os/quick-fs.) */
  async snapshot(path: string): Promise<NoteSnapshot> {
    return this.snapshotSync(path);
  }

  /** snapshot(), for callers without a promise (a one-shot CLI command reading every note at
   *  once): a thread-pool round trip per file call would cost more than the read itself. */
  snapshotSync(path: string): NoteSnapshot {
    let buf: Buffer;
    let st;
    try {
      const fd = openSync(path, READ_FLAGS);
      try {
        st = checkStat(path, fstatSync(fd));
        buf = readAllSync(fd, st.size);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw openError(path, err);
    }
    return decoded(path, st, buf);
  }

  /** read(), blocking (see snapshotSync). */
  readSync(path: string): NoteRead {
    return this.readSyncStat(path).read;
  }

  /**
   * A one-shot command's read of a note its folder's listing called a regular file: one native
   * call (open without following links and without blocking, read, decode), about half the cost
   * of open, fstat, read and close with a fatal decode from JS. Whatever this read cannot judge as
   * the careful read does gives `undefined`, and the caller takes the careful read (readSyncStat):
   * any error, an empty read (a FIFO swapped in), invalid UTF-8 (decoded here as U+FFFD) or NUL
   * bytes, a note over the size limit. The snapshot has no stamp: a one-shot index compares none.
   */
  readOneShot(path: string): NoteRead | undefined {
    const text = readTextOneShot(path, MAX_NOTE_BYTES);
    if (text === undefined || text.includes('\uFFFD') || text.includes('\0')) return undefined;
    return parseSnapshot(snapshotOf(path, text, NO_STAMP));
  }

  /** readSync() and the open file's stat (absent when it could not be opened or was not a
   *  regular file): a first read needs no lstat of its own. NoteGoneError when missing. */
  readSyncStat(path: string): { read: NoteRead; st?: Stats } {
    let fd: number;
    try {
      fd = openSync(path, READ_FLAGS);
    } catch (err) {
      const e = openError(path, err);
      if (e instanceof NoteParseError) return { read: { ok: false, error: e } };
      throw e;
    }
    let st: Stats | undefined;
    let note: NoteSnapshot;
    try {
      st = fstatSync(fd);
      checkStat(path, st);
      note = decoded(path, st, readAllSync(fd, st.size));
    } catch (err) {
      if (err instanceof NoteParseError) return { read: { ok: false, error: err }, ...(st?.isFile() ? { st } : {}) };
      throw openError(path, err);
    } finally {
      closeSync(fd);
    }
    return { read: parseSnapshot(note), st };
  }

  /** Read and parse a note. Never throws for a bad note; NoteGoneError for a missing one. */
  async read(path: string): Promise<NoteRead> {
    return this.readSync(path);
  }

  /**
   * Compare-and-swap edit. `decide` sees the current data and returns the edits to make, or null to
   * give up (e.g. the status is no longer what the caller expected). If the note changes between
   * read and replace, `decide` runs again on the new content.
   */
  async update(
    path: string,
    decide: (data: Record<string, unknown>, note: NoteSnapshot, body: string) => FieldEdits | null,
    tries = 4,
  ): Promise<{ note: NoteSnapshot; edits: FieldEdits } | null> {
    return this.updateNote(
      path,
      (data, note, body) => {
        const edits = decide(data, note, body);
        return edits === null ? null : { edits };
      },
      tries,
    );
  }

  /**
   * `update`, plus text appended at the end of the body in the same write (a run's `## Result`):
   * every other byte of the body stays; the note's line ending is used.
   */
  async updateNote(
    path: string,
    decide: (data: Record<string, unknown>, note: NoteSnapshot, body: string) => { edits: FieldEdits; append?: string } | null,
    tries = 4,
    opts: { after?: Promise<unknown> } = {},
  ): Promise<{ note: NoteSnapshot; edits: FieldEdits } | null> {
    for (let i = 0; i < tries; i++) {
      const r = await this.read(path);
      if (!r.ok) throw r.error; // never rewrite a note we cannot parse
      const d = decide(r.data, r.note, r.body);
      if (d === null) return null;
      const { edits } = d;
      let text: string;
      try {
        text = applyEdits(r.note.text, edits);
      } catch (err) {
        if (err instanceof FrontmatterSyntaxError) throw new NoteParseError(path, err.message, { cause: err });
        throw err;
      }
      if (d.append) text = appendToBody(text, d.append);
      if (text === r.note.text) return { note: r.note, edits };
      const written = await this.replace(path, text, r.note, opts.after);
      if (written) return { note: written, edits };
    }
    throw new NoteChangedError(path);
  }

  /**
   * Atomically replace `path` with `text` if it still matches `expected`; returns the new snapshot,
   * or null when the note changed in between (the caller re-reads and decides again). `after`: a
   * write that must be on disk before this one (a plan note the edit links to); the temp file is
   * written meanwhile, and its failure is this write's (nothing is renamed).
   */
  async replace(path: string, text: string, expected: NoteSnapshot | null, after?: Promise<unknown>): Promise<NoteSnapshot | null> {
    const tmp = tempNameFor(path);
    try {
      // Permissions first (set on the temp file as it is written), so that nothing but the
      // compare's stat stands before the rename: a save landing in that gap would be replaced
      // unseen. (A chmod since our read changed the ctime, so the compare catches it.)
      await writeSynced(tmp, text, 'wx', true, expected?.stamp.mode);
      if (after) await after;
      if (expected) {
        let st;
        try {
          st = await stat(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NoteGoneError(path, { cause: err });
          throw err;
        }
        if (!sameStamp(stampOf(st), expected.stamp)) {
          const now = await readFile(path, 'utf8').catch(() => null);
          if (now === null || hashText(now) !== expected.hash) {
            await unlink(tmp).catch(() => {}); // the compare failed: drop our temp file too
            return null;
          }
          await chmod(tmp, st.mode & 0o7777); // same text, touched meanwhile (rare)
        } else if (expected.stamp.mode === undefined) {
          await chmod(tmp, st.mode & 0o7777); // a snapshot made without its mode
        }
      } else if (await exists(path)) {
        throw new VaultrunnerError('NOTE_CHANGED', `refusing to overwrite existing note ${path}`);
      }
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    // Said at once: the event for this rename may be handled while the folder syncs.
    this.opts.onWrite?.(path, text);
    await syncDir(dirname(path));
    return snapshotOf(path, text, await stampAfterWrite(path));
  }

  /** Create a new note; fails (never overwrites) if the name is taken. */
  async create(path: string, text: string): Promise<NoteSnapshot> {
    await this.safeDir(dirname(path));
    const tmp = tempNameFor(path);
    try {
      await writeSynced(tmp, text, 'wx');
      await linkOrCopy(tmp, path); // fails with EEXIST instead of replacing
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    // The temp name's removal need not come before the folder's fsync: both at once.
    this.opts.onWrite?.(path, text);
    await Promise.all([unlink(tmp).catch(() => {}), syncDir(dirname(path))]);
    return snapshotOf(path, text, await stampAfterWrite(path));
  }

  /**
   * Move a note into `toDir`, keeping its name if free, else `<name> (2).md`, `(3)`… Whatever
   * the note holds at that moment moves with it. Returns the new path.
   */
  async move(path: string, toDir: string): Promise<string> {
    const name = basename(path).replace(/\.md$/i, '');
    await this.safeDir(toDir); // a `Done/` linked out of the vault would carry notes away
    for (let n = 1; n < 1000; n++) {
      const target = join(toDir, n === 1 ? `${name}.md` : `${name} (${n}).md`);
      // The inode we link, when the source's before and the target's after agree: it tells which
      // name a save landed on if the two differ once the source is taken.
      const before = await stat(path).catch(() => undefined);
      try {
        await linkOrCopy(path, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // The target may be this very file: a move cut short (kill -9) after its link. Finish that
        // move instead of filing a second copy as `<name> (2).md`.
        if (code === 'EEXIST' && !(await sameInode(path, target))) continue;
        if (code === 'EEXIST') {
          // fall through: take the source away below
        } else {
          if (code === 'ENOENT' && !(await exists(path))) throw new NoteGoneError(path, { cause: err });
          throw err;
        }
      }
      const after = await stat(target).catch(() => undefined);
      const linked = before && after && before.dev === after.dev && before.ino === after.ino ? before.ino : undefined;
      await this.opts.afterLink?.(path, target);
      // Take the source away by rename, which captures atomically whatever `path` holds now; an
      // unlink after a check could delete a save that landed between the two.
      const grave = tempNameFor(path);
      let taken = true;
      await rename(path, grave).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        taken = false; // gone meanwhile: the target is the only copy
      });
      if (taken && !(await sameFile(grave, target))) {
        const [g, t] = await Promise.all([stat(grave), stat(target)]);
        if (linked !== undefined && t.ino === linked) {
          // A save by rename came in on the source after our link: that newer version is the one to move.
          await this.replaceWith(grave, target, path);
        } else if (linked === undefined || g.ino !== linked) {
          // A save on each side, or one we cannot place (a copy instead of a link): both are kept.
          const copy = await this.fileCopy(grave, toDir, name, path);
          this.opts.logger?.warn({ component: 'vault', file: path, dest: target, copy }, `${basename(path)}: saved on both names while it was being filed; both versions kept, the one from ${basename(dirname(path))}/ as ${basename(copy)}`);
        } // else a save landed on the target (a person editing the note as it was filed): theirs stays
      }
      if (taken) await unlink(grave);
      await syncDir(toDir);
      await syncDir(dirname(path));
      this.opts.onWrite?.(path, undefined, target);
      return target;
    }
    throw new VaultrunnerError('MOVE_COLLISION', `no free name for ${name} in ${toDir}`);
  }

  /** `target` replaced by the taken source `grave`; on failure the source goes back to `path`. */
  private async replaceWith(grave: string, target: string, path: string): Promise<void> {
    await unlink(target);
    try {
      await linkOrCopy(grave, target);
    } catch (err) {
      await this.restore(grave, path);
      throw err;
    }
  }

  /** The taken source `grave` filed beside the target under the next free `<name> (n).md`, whose
   *  path is returned (the caller then removes `grave`); on failure the source goes back to `path`. */
  private async fileCopy(grave: string, toDir: string, name: string, path: string): Promise<string> {
    for (let n = 2; n < 1000; n++) {
      const copy = join(toDir, `${name} (${n}).md`);
      try {
        await linkOrCopy(grave, copy);
        return copy;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        await this.restore(grave, path);
        throw err;
      }
    }
    await this.restore(grave, path);
    throw new VaultrunnerError('MOVE_COLLISION', `no free name for ${name} in ${toDir}`);
  }

  /** Put a taken source back rather than lose it; if even that fails, the dot-file keeps it. */
  private async restore(grave: string, path: string): Promise<void> {
    if (await linkOrCopy(grave, path).then(() => true, () => false)) await unlink(grave);
  }
}

/** A stamp no file has (NaN equals nothing): a one-shot read's, never compared; or a write's
 *  whose note went at once (stampAfterWrite), so a compare against it reads the note again. */
const NO_STAMP: FileStamp = Object.freeze({ size: -1, mtimeMs: Number.NaN, ctimeMs: Number.NaN, ino: -1 });

/**
 * The stamp of a note we just wrote. It may be moved or removed as soon as the write lands (the
 * service filing a note that `vaultrunner approve` just approved, or one `new` just created): the
 * write stands, and NO_STAMP makes any compare against the snapshot read the note again.
 */
async function stampAfterWrite(path: string): Promise<FileStamp> {
  try {
    return stampOf(await stat(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return NO_STAMP;
    throw err;
  }
}

// A note that is a symlink is never followed: it could point anywhere outside the vault (and our
// atomic writes would replace the link with a copy). O_NONBLOCK: a FIFO cannot hang us.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

function checkStat<S extends Stats>(path: string, st: S): S {
  if (!st.isFile()) throw new NoteParseError(path, 'not a regular file');
  if (st.size > MAX_NOTE_BYTES) throw new NoteParseError(path, `note is ${st.size} bytes, larger than the ${MAX_NOTE_BYTES}-byte limit`);
  return st;
}

function openError(path: string, err: unknown): unknown {
  if (err instanceof VaultrunnerError) return err;
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new NoteGoneError(path, { cause: err });
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') return new NoteParseError(path, 'note is a symbolic link; links are not followed (one could point outside the vault)', { cause: err });
  return err;
}

// One buffer for every blocking read: readFileSync allocates a fresh one per file (and stats the
// file again), and at thousands of notes those buffers were a good part of the GC time of `list`.
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

/** The whole file from `fd`, in a view that is valid until the next call (decode it at once). */
function readAllSync(fd: number, size: number): Buffer {
  // A note larger than the scratch buffer gets one of its own (kept no longer than the read).
  return readToEnd(fd, size + 1 <= SCRATCH.length ? SCRATCH : Buffer.allocUnsafe(size + 1));
}

function decoded(path: string, st: Stats, buf: Buffer): NoteSnapshot {
  if (buf.includes(0)) throw new NoteParseError(path, 'binary file (contains NUL bytes), not a Markdown note');
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch (err) {
    throw new NoteParseError(path, 'not valid UTF-8 text', { cause: err });
  }
  return snapshotOf(path, text, stampOf(st));
}

/** `text` with `extra` after its last line, separated by one blank line, in the note's line ending. */
export function appendToBody(text: string, extra: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const add = extra.replace(/\r?\n/g, eol).replace(new RegExp(`(${eol})*$`), eol);
  if (text === '') return add;
  const end = text.endsWith(eol) ? text : text + eol;
  return end.endsWith(eol + eol) ? end + add : end + eol + add;
}

export function parseSnapshot(note: NoteSnapshot): NoteRead {
  if (note.text.trim() === '') {
    return { ok: false, note, error: new NoteParseError(note.path, 'empty note (no frontmatter yet); waiting for content') };
  }
  try {
    const split = splitNote(note.text);
    if (!split.hasFrontmatter) {
      return { ok: false, note, error: new NoteParseError(note.path, 'no frontmatter: a task note starts with a "---" line, then "type: …"') };
    }
    return { ok: true, note, data: frontmatterData(split), body: split.body };
  } catch (err) {
    if (err instanceof FrontmatterSyntaxError) return { ok: false, note, error: new NoteParseError(note.path, err.message, { cause: err }) };
    throw err;
  }
}

/** Does `source` still hold what we just linked or copied to `target`? (A vanished source: yes,
 *  the target is now the only copy and must be kept.) */
async function sameFile(source: string, target: string): Promise<boolean> {
  const sa = await stat(source).catch(() => undefined);
  if (!sa) return true;
  const sb = await stat(target);
  if (sa.ino === sb.ino) return true;
  return sa.size === sb.size && hashText(await readFile(source, 'utf8')) === hashText(await readFile(target, 'utf8'));
}

/** Both names are links to one file (a hard link our own interrupted move left). */
async function sameInode(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
