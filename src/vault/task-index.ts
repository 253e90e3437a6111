// In-memory index of the active task notes (Needs_Action/ and Pending_Approval/), keyed by id.
// File events are hints: every refresh re-stats and re-reads, and an unchanged hash is no change
// (which is also how our own writes are recognised). Done/ is never scanned; dependencies look
// up Done/<name>.md directly, so a pass costs O(active tasks), not O(Done/).
import { EventEmitter } from 'node:events';
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { lstat } from '../os/quick-fs.js';
import { join, sep } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { NoteGoneError } from '../errors.js';
import { classifyName, classifyPath } from './ignore-rules.js';
import { taskIdOf, type VaultPaths } from './layout.js';
import { sameStamp, stampOf, type FileStamp, type NoteRead, type NoteSnapshot, type NoteStore } from './note-store.js';
import { removeStaleNoteTemps } from './stale-note-temps.js';
import { validateTask, type Problem, type Task } from '../domain/task.js';
import { isPlaceholderBody } from '../domain/readiness.js';
import type { Status } from '../domain/status.js';

export type ActiveFolder = 'Needs_Action' | 'Pending_Approval';

export type EntryState =
  | { kind: 'task'; task: Task; data: Record<string, unknown>; body: string }
  | { kind: 'invalid'; problems: Problem[]; status: Status; data: Record<string, unknown> }
  | { kind: 'unreadable'; reason: string };

export interface IndexEntry {
  id: string;
  path: string;
  folder: ActiveFolder;
  readonly hash: string;
  stamp: FileStamp;
  /** When the index first saw this note (for dispatch order by age). */
  firstSeen: number;
  state: EntryState;
}

/** A note's lstat (absent: gone) and the read started for it, if one was needed. */
export interface Prefetched {
  st?: Stats;
  read?: Promise<NoteRead>;
}

/** Notes read ahead during a scan. */
const SCAN_WINDOW = 32;
/** A folder's mtime this close to its listing may still move within the same clock tick of the
 *  filesystem (coarse on some): such a listing is not trusted to stand for the next pass. */
const RACY_MS = 3000;

export interface IndexEvents {
  change: [entry: IndexEntry];
  remove: [entry: IndexEntry];
  /** A scan or a reconcile finished: `full` when it looked at every held note. */
  pass: [info: { full: boolean; checked: number }];
}

export interface ScanOptions {
  blocking?: boolean;
  oneShot?: boolean;
  lean?: LeanScan;
  quickStat?: boolean;
}

export interface TaskIndexOptions {
  /** reconcile() checks one in `rotation` held notes a pass, so each within `rotation` passes. */
  rotation?: number;
  /** Below this many held notes, reconcile() checks them all every pass (it costs next to nothing). */
  checkAllBelow?: number;
}

/** Defaults: at the default ORCHESTRATOR_INTERVAL (60 s) every note is checked within 10 minutes,
 *  and a pass `lstat`s at most ~500 notes (a tenth of 5,000 held notes costs ~5 ms a minute). */
export const RECONCILE_ROTATION = 10;
export const RECONCILE_CHECK_ALL_BELOW = 500;

export class TaskIndex extends EventEmitter<IndexEvents> {
  private readonly byPath = new Map<string, IndexEntry>();
  private readonly doneCache = new Map<string, { stamp: FileStamp; status: Status }>();
  /** Valid tasks by status: the timers' passes look at the few they act on, not at every note. */
  private readonly byStatus = new Map<Status, Map<string, IndexEntry>>();
  /** Each active folder's stamp when it was last listed completely (see reconcile). */
  private readonly listed = new Map<string, string>();
  /** Active folders whose last listing failed (reported once until one works again). */
  private readonly unlistable = new Set<string>();
  private readonly rotation: number;
  private readonly checkAllBelow: number;
  private turn = 0;
  private slots = 0;
  private failures = 0;

  constructor(
    private readonly store: NoteStore,
    readonly paths: VaultPaths,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    opts: TaskIndexOptions = {},
  ) {
    super();
    this.rotation = Math.max(1, Math.floor(opts.rotation ?? RECONCILE_ROTATION));
    this.checkAllBelow = opts.checkAllBelow ?? RECONCILE_CHECK_ALL_BELOW;
  }

  entries(): IndexEntry[] {
    return [...this.byPath.values()];
  }

  /** The valid tasks with this status (a copy: callers may refresh entries while they go). */
  withStatus(status: Status): IndexEntry[] {
    const m = this.byStatus.get(status);
    return m ? [...m.values()] : [];
  }

  private put(path: string, entry: Entry, prev: IndexEntry | undefined): void {
    if (prev) this.unbucket(path, prev);
    this.byPath.set(path, entry);
    if (entry.state.kind !== 'task') return;
    const status = entry.state.task.status;
    let m = this.byStatus.get(status);
    if (!m) this.byStatus.set(status, (m = new Map()));
    m.set(path, entry);
  }

  private drop(path: string, prev: IndexEntry): void {
    this.byPath.delete(path);
    this.unbucket(path, prev);
  }

  private unbucket(path: string, prev: IndexEntry): void {
    if (prev.state.kind === 'task') this.byStatus.get(prev.state.task.status)?.delete(path);
  }

  get size(): number {
    return this.byPath.size;
  }

  /** The active note with this id (Needs_Action/ wins over Pending_Approval/). */
  byId(id: string): IndexEntry | undefined {
    // Keys are `<folder>/<name>.md` (see scan); a name with odd segments is simply not found.
    return this.byPath.get(`${this.paths.needsAction}${sep}${id}.md`) ?? this.byPath.get(`${this.paths.pendingApproval}${sep}${id}.md`);
  }

  getPath(path: string): IndexEntry | undefined {
    return this.byPath.get(path);
  }

  /** Re-read one path. Emits 'change' when its content changed, 'remove' when it is gone. */
  async refresh(path: string, pre?: Promise<Prefetched>): Promise<IndexEntry | undefined> {
    try {
      return await this.load(path, pre);
    } catch (err) {
      // A note that could not be taken in is not held, so only a listing finds it again.
      this.failures++;
      this.listed.clear();
      throw err;
    }
  }

  private async load(path: string, pre?: Promise<Prefetched>): Promise<IndexEntry | undefined> {
    const cls = classifyPath(this.paths.root, path);
    const folder = cls.folder;
    if (cls.kind !== 'task-note' || (folder !== 'Needs_Action' && folder !== 'Pending_Approval')) return undefined;
    const prev = this.byPath.get(path);
    const fetched = await (pre ?? this.prefetch(path, prev));
    const st = fetched.st;
    if (!st) {
      if (prev) {
        this.drop(path, prev);
        this.emit('remove', prev);
      }
      return undefined;
    }
    if (!st.isFile() && !st.isSymbolicLink()) return undefined;
    if (prev && sameStamp(prev.stamp, stampOf(st))) return prev;
    let read;
    try {
      read = await (fetched.read ?? this.store.read(path));
    } catch (err) {
      if (err instanceof NoteGoneError) return this.load(path);
      throw err;
    }
    return this.apply(path, folder, prev, st, read);
  }

  /** Take a note's read into the index (emitting 'change'), unless its content is unchanged. */
  // `st` undefined: a one-shot read (readOneShot), which always carries its note.
  private apply(path: string, folder: ActiveFolder, prev: IndexEntry | undefined, st: Stats | undefined, read: NoteRead, lean?: LeanScan): IndexEntry {
    const note = read.note;
    const stamp = note?.stamp ?? stampOf(st!);
    if (prev && prev.hash === (note ? note.hash : unreadableHash(st!))) {
      prev.stamp = stamp; // touched, not changed
      return prev;
    }
    const id = taskIdOf(path);
    let state: EntryState;
    if (!read.ok) {
      state = { kind: 'unreadable', reason: read.error.message };
      this.logger.warn({ component: 'index', task: id, file: path, reason: read.error.message }, 'note cannot be read; left untouched until it changes');
    } else {
      const v = validateTask(id, read.data);
      state = v.ok
        ? { kind: 'task', task: v.task, data: read.data, body: read.body }
        : { kind: 'invalid', problems: v.problems, status: v.partial.status ?? 'new', data: read.data };
    }
    // Lean: a valid task keeps what readiness and a row need, and (unless asked) not its text.
    const keepNote = !lean || state.kind !== 'task' || lean.keepText(id);
    if (lean && state.kind === 'task') state = leanTask(state);
    const entry = new Entry(id, path, folder, stamp, prev?.firstSeen ?? (st ? st.birthtimeMs || this.now() : undefined), state, keepNote ? note : undefined, note ? (keepNote ? undefined : `lean:${id}`) : unreadableHash(st!), this.now);
    entry.slot = prev ? (prev as Entry).slot : this.slots++ % this.rotation;
    this.put(path, entry, prev);
    this.emit('change', entry);
    return entry;
  }

  /**
   * Reconcile with the disk: new, changed and vanished notes in the active folders. `blocking`:
   * read with blocking calls (the service's first scan, before anything else runs; afterwards it
   * keeps its event loop free; it also removes the temp files a crash left in the folders it lists,
   * see stale-note-temps.ts). `oneShot` (with blocking): a CLI command that reads every note once
   * and compares none: notes are read in one native call each and get no stamp (readOneShot);
   * `lean` (see LeanScan) keeps less of each.
   */
  async scan(opts: ScanOptions = {}): Promise<void> {
    await this.pass(opts, undefined);
  }

  /**
   * The service's periodic pass on a local disk (file events do the rest; a watcher's rescan and
   * the start make full passes with scan()). A folder whose stamp is the one of its last complete
   * listing holds the same names (creating, removing or renaming a note in it changes its mtime),
   * so it is not listed again; and of the notes held, one in `rotation` is lstat'ed a pass, in
   * turn, so an edit whose event was missed is found within `rotation` passes. All are checked
   * while there are fewer than `checkAllBelow`.
   */
  async reconcile(): Promise<void> {
    const turn = this.turn;
    this.turn = (turn + 1) % this.rotation;
    await this.pass({ quickStat: true }, this.byPath.size < this.checkAllBelow ? undefined : turn);
  }

  /** One pass; `turn`: check only the held notes of that rotation slot (undefined: all). */
  private async pass(opts: ScanOptions, turn: number | undefined): Promise<void> {
    const seen = new Set<string>();
    const listedFolders: ActiveFolder[] = [];
    let checked = 0;
    let due: Record<ActiveFolder, string[]> | undefined; // this turn's notes by folder, gathered once
    const dueIn = (folder: ActiveFolder): string[] => {
      if (!due) {
        due = { Needs_Action: [], Pending_Approval: [] };
        for (const e of this.byPath.values()) if ((e as Entry).slot === turn) due[e.folder].push(e.path);
      }
      return due[folder];
    };
    for (const folder of ['Needs_Action', 'Pending_Approval'] as const) {
      const dir = folder === 'Needs_Action' ? this.paths.needsAction : this.paths.pendingApproval;
      // Taken before the listing: a change during it makes the next pass list again.
      const stamp = opts.quickStat || opts.blocking ? trustedDirStamp(dir) : undefined;
      const failures = this.failures;
      let paths: string[] = [];
      let regular: Set<string> | undefined;
      if (turn !== undefined && stamp !== undefined && this.listed.get(dir) === stamp) {
        paths = dueIn(folder);
      } else {
        let names: string[];
        try {
          if (opts.oneShot) {
            // Listed with types: only what the listing calls a regular file gets the quick read.
            names = [];
            regular = new Set();
            for (const d of readdirSync(dir, { withFileTypes: true })) {
              names.push(d.name);
              if (d.isFile()) regular.add(d.name);
            }
          } else names = await readdir(dir);
          listedFolders.push(folder);
          this.listFailed(dir, undefined);
        } catch (err) {
          names = [];
          // Not listed: the next pass lists it again. A folder that is gone holds no notes (the ones
          // held are checked one by one); any other failure (EACCES, EIO, EMFILE) says nothing about
          // them, so none is dropped for it.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') listedFolders.push(folder);
          this.listFailed(dir, err);
        }
        // The service's first scan (a CLI's is one-shot): temp files a crash left go, from the listing at hand.
        if (opts.blocking && !opts.oneShot) removeStaleNoteTemps(dir, names, this.logger);
        for (const name of names) {
          const path = dir + sep + name; // join() without its normalising: `dir` is normal, `name` one segment
          const prev = this.byPath.get(path);
          // Temp files and conflict copies are skipped; a path the index holds was classified already.
          if (!prev && classifyName(folder, name).kind !== 'task-note') continue;
          seen.add(path);
          if (turn === undefined || !prev || (prev as Entry).slot === turn) paths.push(path);
        }
      }
      checked += paths.length;
      if (opts.quickStat) await this.dropUnchanged(paths);
      if (opts.blocking) await this.scanSync(folder, paths, regular, opts.lean);
      else await this.refreshAll(paths);
      if (stamp !== undefined && this.failures === failures && listedFolders.includes(folder) && !this.unlistable.has(dir)) this.listed.set(dir, stamp);
    }
    if (listedFolders.length > 0) for (const e of [...this.byPath.values()]) if (!seen.has(e.path) && listedFolders.includes(e.folder)) await this.refresh(e.path);
    this.emit('pass', { full: turn === undefined, checked });
  }

  /** A folder's listing failed (`err`) or worked again (undefined): said once each way, not every pass. */
  private listFailed(dir: string, err: unknown): void {
    if (err === undefined) {
      if (this.unlistable.delete(dir)) this.logger.info({ component: 'index', dir }, `${dir} can be listed again`);
      return;
    }
    if (this.unlistable.has(dir)) return;
    this.unlistable.add(dir);
    const e = err as NodeJS.ErrnoException;
    this.logger.warn({ component: 'index', dir, code: e.code, err: e.message }, `cannot list ${dir} (${e.code ?? e.message}); its notes are looked for again at every pass until it can be`);
  }

  /** Refresh these paths, reading ahead in a bounded window (one at a time left the disk and the
   *  CPU idle between ~4 round trips per note); entries are still taken in order, one by one. */
  private async refreshAll(paths: string[]): Promise<void> {
    const ahead: (Promise<Prefetched> | undefined)[] = new Array(paths.length);
    const fetch = this.prefetch.bind(this);
    const start = (i: number) => {
      if (i < paths.length) ahead[i] = fetch(paths[i]!, this.byPath.get(paths[i]!));
    };
    for (let i = 0; i < Math.min(SCAN_WINDOW, paths.length); i++) start(i);
    for (let i = 0; i < paths.length; i++) {
      // quick-fs answers from the page cache behind resolved promises: let timers and events in now and then.
      if (i > 0 && i % 200 === 0) await nextTurn();
      const path = paths[i]!;
      try {
        await this.refresh(path, ahead[i]);
      } catch (err) {
        this.logger.error({ component: 'index', file: path, err }, 'refresh failed');
      }
      ahead[i] = undefined;
      start(i + SCAN_WINDOW);
    }
  }

  /**
   * `quickStat` (the periodic reconcile on a local disk): notes whose lstat matches what we hold
   * are dropped from `paths` with one blocking lstat each, in slices between which the event loop
   * runs. An async lstat costs ~10× the syscall in promises and thread-pool hand-offs, and at
   * 5,000 active notes that was nearly all of an idle service's CPU.
   */
  private async dropUnchanged(paths: string[]): Promise<void> {
    let kept = 0;
    for (let i = 0; i < paths.length; i++) {
      if (i > 0 && i % 500 === 0) await nextTurn();
      const path = paths[i]!;
      const prev = this.byPath.get(path);
      const st = prev ? lstatSync(path, { throwIfNoEntry: false }) : undefined;
      if (!st || !prev || !sameStamp(prev.stamp, st)) paths[kept++] = path; // a Stats is a stamp: no copy a note
    }
    paths.length = kept;
  }

  /** The note's lstat and, when it differs from what we hold, its read; never rejects (a
   *  failed read is re-raised by refresh, where it would have happened anyway). */
  private async prefetch(path: string, prev: IndexEntry | undefined): Promise<Prefetched> {
    let st: Stats;
    try {
      st = await lstat(path); // a symlinked note (even a dangling one) is read, and so reported
    } catch {
      return {};
    }
    if (!st.isFile() && !st.isSymbolicLink()) return { st };
    if (prev && sameStamp(prev.stamp, stampOf(st))) return { st };
    const read = this.store.read(path);
    read.catch(() => undefined); // awaited by refresh; not an unhandled rejection meanwhile
    return { st, read };
  }

  /** scan()'s reads with blocking calls, and without a promise a note (a one-shot command). */
  // `regular` (one-shot): the names the listing called regular files, for readOneShot.
  private async scanSync(folder: ActiveFolder, paths: string[], regular: ReadonlySet<string> | undefined, lean?: LeanScan): Promise<void> {
    const skip = paths.length ? paths[0]!.lastIndexOf(sep) + 1 : 0; // the folder's part of each path
    for (const path of paths) {
      const prev = this.byPath.get(path);
      if (!prev && regular?.has(path.slice(skip))) {
        const read = this.store.readOneShot(path);
        if (read) {
          this.apply(path, folder, undefined, undefined, read, lean);
          continue;
        }
      }
      try {
        if (!prev) {
          // A first read: the open file's own stat stands in for the lstat (one syscall fewer a note).
          const r = this.store.readSyncStat(path);
          if (r.st) {
            this.apply(path, folder, undefined, r.st, r.read);
            continue;
          }
        }
      } catch (err) {
        if (err instanceof NoteGoneError) continue; // gone since the listing
      }
      // Anything else (a symlink, a FIFO, a read error, a note held already): the general path.
      try {
        await this.refresh(path, this.prefetchSync(path, prev));
      } catch (err) {
        this.logger.error({ component: 'index', file: path, err }, 'refresh failed');
      }
    }
  }

  /** prefetch() with blocking calls (see scan). */
  private prefetchSync(path: string, prev: IndexEntry | undefined): Promise<Prefetched> {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      return Promise.resolve({});
    }
    if (!st.isFile() && !st.isSymbolicLink()) return Promise.resolve({ st });
    if (prev && sameStamp(prev.stamp, stampOf(st))) return Promise.resolve({ st });
    let read: Promise<NoteRead>;
    try {
      read = Promise.resolve(this.store.readSync(path));
    } catch (err) {
      read = Promise.reject(err as Error);
      read.catch(() => undefined);
    }
    return Promise.resolve({ st, read });
  }

  /**
   * Status of a dependency by name: the active note's status, else the status of Done/<name>.md
   * ('done' unless it says otherwise), else 'missing'.
   */
  async dependencyStatus(name: string): Promise<Status | 'missing' | 'invalid'> {
    const active = this.byId(name);
    if (active) return active.state.kind === 'task' ? active.state.task.status : active.state.kind === 'invalid' ? active.state.status : 'invalid';
    const path = join(this.paths.done, `${name}.md`);
    let st;
    try {
      st = await stat(path);
    } catch {
      return 'missing';
    }
    const cached = this.doneCache.get(name);
    if (cached && sameStamp(cached.stamp, stampOf(st))) return cached.status;
    const read = await this.store.read(path).catch(() => undefined);
    const raw = read?.ok ? read.data.status : undefined;
    // A note a person moved into Done/ counts as done, unless it says it was cancelled or failed.
    const status: Status = raw === 'cancelled' || raw === 'failed' ? raw : 'done';
    this.doneCache.set(name, { stamp: stampOf(st), status });
    return status;
  }
}

/** A folder's identity and times, when they are old enough to be trusted (see RACY_MS). */
function trustedDirStamp(dir: string): string | undefined {
  let st: Stats | undefined;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (!st?.isDirectory()) return undefined;
  // File times are the kernel's wall clock, so compared with Date.now(), not an injected clock.
  if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < RACY_MS) return undefined;
  return `${st.dev}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}:${st.size}`;
}

/**
 * A one-shot reader that keeps every note until its rows are built (`list`) spends as much time
 * in the garbage collector as in reading: each note's text, data and task survive, and are
 * copied twice. Lean entries of valid tasks keep the task (its long strings copied out of the
 * note's text, which can then be collected), no frontmatter data, and a body only where readiness
 * reads it (the template's placeholder; an `approved` task's approval fingerprint). `keepText`:
 * the ids whose text must stay for the hash (a task-state file may compare it: planGaveUp); the
 * others' hash is a marker no state file holds.
 */
export interface LeanScan {
  keepText(id: string): boolean;
}

const NO_DATA: Record<string, unknown> = Object.freeze({});

function leanTask(state: Extract<EntryState, { kind: 'task' }>): EntryState {
  const task = state.task as unknown as Record<string, unknown>;
  for (const k in task) {
    const v = task[k];
    if (typeof v === 'string') task[k] = detach(v);
  }
  state.task.blockedBy = state.task.blockedBy.map(detach);
  const body = state.task.approved || isPlaceholderBody(state.body) ? state.body : '';
  return { kind: 'task', task: state.task, data: NO_DATA, body };
}

// V8 keeps a substring of 13+ characters as a view of the whole note: a flat copy frees the text.
// (A cons string's slice flattens it into a new string; only memory depends on it, not results.)
function detach(s: string): string {
  return s.length < 13 ? s : (` ${s}`).slice(1);
}

function bornAt(path: string, now: () => number): number {
  const st = statSync(path, { throwIfNoEntry: false });
  return st?.birthtimeMs || now();
}

/** Hash of a note we could not read: its size and time (there is no text to hash). */
function unreadableHash(st: { size: number; mtimeMs: number }): string {
  return `unreadable:${st.size}:${st.mtimeMs}`;
}

// A class, not an object literal with a getter: one shape and no closures per note.
class Entry implements IndexEntry {
  private born: number | undefined;
  /** Its turn in reconcile()'s rotation. */
  slot = 0;
  constructor(
    readonly id: string,
    readonly path: string,
    readonly folder: ActiveFolder,
    public stamp: FileStamp,
    firstSeen: number | undefined,
    readonly state: EntryState,
    private readonly note: NoteSnapshot | undefined,
    private readonly unreadable: string | undefined,
    private readonly now: () => number,
  ) {
    this.born = firstSeen;
  }

  /** A one-shot read has no stat: the birth time is looked up only if asked for (a `list` row
   *  whose note has no `created`). A getter, like `hash`: a spread must copy it by name. */
  get firstSeen(): number {
    return (this.born ??= bornAt(this.path, this.now));
  }

  /** Hashed on first use: `list` reads every note once and compares none. */
  get hash(): string {
    return this.note ? this.note.hash : this.unreadable!;
  }
}
