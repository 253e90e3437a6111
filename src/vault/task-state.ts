// Per-task machine state that must survive restarts but does not belong in the note: retry
// backoff, counts of interrupted attempts, what to resume. Lives in .vaultrunner/tasks/<id>.json.
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { link, stat, unlink } from '../os/quick-fs.js';
import { join } from 'node:path';
import { readJson, readJsonOneShot, readJsonSync, removeFile, writeJson } from './json-file.js';
import { KeyedQueue } from './keyed-queue.js';
import { legacyStateFileName, stateFileName, stateKeyPrefix } from './state-key.js';

export interface TaskState {
  /** No new attempt before this time (retry backoff). */
  notBefore?: number;
  /** Agent failures so far (drive the backoff). */
  failures?: number;
  /** The note's `attempts` when the current cycle began (a person's retry); max_attempts counts from here. */
  cycleStart?: number;
  /** Attempts cut short by a crash or shutdown; they do not count against max_attempts. */
  interrupted?: number;
  /** Resume this agent session on the next attempt (after pause, shutdown or crash). */
  resumeSession?: string;
  /** The agent whose session resumeSession is (or, in review, the note's session_id): another
   *  agent (a changed `agent:`) starts a session of its own instead of resuming a foreign id. */
  sessionAgent?: string;
  /** The note body when the interrupted run started (or a review round's), to find instructions
   *  added since; a live run keeps it in its lease (Lease.run.bodyAtStart). */
  bodyAtStart?: string;
  /** Planner failures (agent planner), for backoff. */
  planFailures?: number;
  planNotBefore?: number;
  /** Planning gave up on this exact note content; it is tried again once a person edits the note. */
  planGaveUp?: string;
  /** Fingerprint (type, agent, body) of the note when it was last shown awaiting approval with
   *  `approved` unset: an `approved: true` on that same content is a person's later approval. */
  approvalAsked?: string;
  /** Fingerprint the approval was granted for; a change of what it covers voids it (approval.ts). */
  approvedFor?: string;
  /** Last problem reported for this task, so a report is logged once, not every tick. */
  reported?: string;
  /** The `## Feedback` sections already sent to the agent (a review round sends only what is new). */
  feedbackSent?: string[];
}

export class TaskStateStore {
  // Cached with the file's stamp, so a change made by another process (e.g. `vaultrunner retry`
  // clearing a backoff) is seen on the next get().
  private readonly cache = new Map<string, { stamp: string; state: TaskState }>();
  private readonly queue = new KeyedQueue();
  /** Ids read by prime({ load }): a one-shot reader's snapshot, not stat'ed again by get(). */
  private readonly snapshot = new Set<string>();
  /** prime({ load })'s reads by file name, each file read once however many ids share its prefix. */
  private listing: Listing | undefined;
  private readonly loaded = new Map<string, { value: StoredState | undefined; stamp: string } | undefined>();
  private legacyNames: Set<string> | null | undefined;

  constructor(private readonly dir: string) {}

  private file(id: string): string {
    return join(this.dir, stateFileName(id));
  }

  /** State kept under an older version's name takes the bounded name (once per id and process). */
  private async adoptLegacy(id: string): Promise<void> {
    const legacy = legacyStateFileName(id);
    const present = this.legacyNamesPresent();
    if (!legacy || (present && !present.has(legacy))) return;
    present?.delete(legacy);
    const from = join(this.dir, legacy);
    const ok = await link(from, this.file(id)).then(() => true, () => false);
    if (ok) await unlink(from).catch(() => undefined);
  }

  /**
   * The older version's names in the folder, listed once when first needed: only older versions
   * wrote them, so a new task's get() needs no link attempt (a thread-pool round trip on every
   * pickup) when none was there. Null when the folder could not be listed: every id is tried.
   */
  private legacyNamesPresent(): Set<string> | null {
    if (this.legacyNames !== undefined) return this.legacyNames;
    try {
      return (this.legacyNames = new Set(readdirSync(this.dir).filter(isLegacyName)));
    } catch (err) {
      return (this.legacyNames = (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Set() : null);
    }
  }

  private async stampOf(id: string): Promise<string> {
    const st = await stat(this.file(id)).catch(() => undefined);
    return st ? stampText(st) : 'absent';
  }

  /**
   * One directory listing instead of two stats per task: every id with no state file (under
   * either name) is known absent. For a reader that asks about every task at once (`list`).
   * `load`: read the state files there are with blocking calls now (a one-shot command; one at a
   * time through the thread pool, a few hundred of them were a quarter of `list`'s time).
   */
  async prime(ids: Iterable<string>, opts: { load?: boolean } = {}): Promise<void> {
    let listing: Listing | undefined;
    if (opts.load) {
      listing = this.listSync();
      if (!listing) return; // unreadable: nothing is known absent
    } else {
      let names: string[];
      try {
        names = await readdir(this.dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
        names = [];
      }
      listing = listingOf(names, new Set());
    }
    const { names, regular, prefixes, legacyNames } = listing;
    for (const id of ids) {
      if (this.cache.has(id)) continue;
      const candidates = prefixes.get(stateKeyPrefix(id));
      // Loading, a file that names its task answers without hashing the id (and loading the hash).
      if (candidates && opts.load && this.loadNamed(id, candidates, regular)) continue;
      if (candidates && names.has(stateFileName(id))) {
        if (opts.load) this.loadSync(id);
        continue;
      }
      const legacy = legacyNames ? legacyStateFileName(id) : undefined;
      if (legacy && names.has(legacy)) continue;
      this.cache.set(id, { stamp: 'absent', state: {} });
    }
  }

  /**
   * Which ids may have a state file, from one listing of the folder (kept for prime({ load })):
   * those whose readable prefix a file has, or every id while a file under an older version's name
   * is there (such a name says nothing about its id). A one-shot reader (`list`) asks before it
   * knows the ids.
   */
  mayHaveState(): (id: string) => boolean {
    const listing = this.listSync();
    if (!listing || listing.legacyNames) return () => true; // (unreadable: assume any may)
    const { prefixes } = listing;
    return (id) => prefixes.size > 0 && prefixes.has(stateKeyPrefix(id));
  }

  /** The folder listed once with types (a one-shot reader's: not listed again); undefined when
   *  it cannot be read (a missing folder is an empty one). */
  private listSync(): Listing | undefined {
    if (this.listing) return this.listing;
    const names: string[] = [];
    const regular = new Set<string>(); // what the listing calls a regular file gets the quick read
    try {
      for (const d of readdirSync(this.dir, { withFileTypes: true })) {
        names.push(d.name);
        if (d.isFile()) regular.add(d.name);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    }
    return (this.listing = listingOf(names, regular));
  }

  private loadSync(id: string): void {
    const r = readJsonSync<StoredState>(this.file(id));
    // Torn or foreign: left for get(), which treats it the same way with its own stat.
    if (!r.st) return;
    this.cache.set(id, { stamp: stampText(r.st), state: stateOf(r.value) });
    this.snapshot.add(id);
  }

  /** A state file for prime({ load }): quick when the listing called it a regular file, else (or
   *  when the quick read cannot tell) the careful read. Undefined: torn or foreign, left to get(). */
  private readOnce(name: string, regular: boolean): { value: StoredState | undefined; stamp: string } | undefined {
    const path = join(this.dir, name);
    const quick = regular ? readJsonOneShot<StoredState>(path) : undefined;
    if (quick) return { value: quick.value, stamp: ONE_SHOT }; // a snapshot's: never compared
    const r = readJsonSync<StoredState>(path);
    return r.st ? { value: r.value, stamp: stampText(r.st) } : undefined;
  }

  /**
   * prime()'s match of an id to one of the files sharing its readable prefix, by the task the file
   * names (written since state files carry it). False when it cannot tell: a candidate without a
   * name (an older file) leaves the answer to the hashed file name.
   */
  private loadNamed(id: string, candidates: string[], regular: ReadonlySet<string>): boolean {
    let unnamed = false;
    for (const name of candidates) {
      let read = this.loaded.get(name);
      if (!this.loaded.has(name)) this.loaded.set(name, (read = this.readOnce(name, regular.has(name))));
      const named = read?.value?.task;
      if (named === undefined) unnamed = true;
      if (named !== id || !read) continue;
      this.cache.set(id, { stamp: read.stamp, state: stateOf(read.value) });
      this.snapshot.add(id);
      return true;
    }
    if (unnamed) return false;
    this.cache.set(id, { stamp: 'absent', state: {} }); // every file there names another task
    return true;
  }

  /** get() when it can answer without the disk (a known absence, a one-shot snapshot), else undefined. */
  peek(id: string): TaskState | undefined {
    const hit = this.cache.get(id);
    return hit && (hit.stamp === 'absent' || this.snapshot.has(id)) ? hit.state : undefined;
  }

  /** get() from the disk, past a cached absence: for a file another process may have just
   *  created (a person's `vaultrunner approve` ahead of the service's question). */
  reload(id: string): Promise<TaskState> {
    const hit = this.cache.get(id);
    if (hit?.stamp === 'absent' || this.snapshot.has(id)) {
      this.cache.delete(id);
      this.snapshot.delete(id);
    }
    return this.get(id);
  }

  async get(id: string): Promise<TaskState> {
    const hit = this.cache.get(id);
    // Other processes remove state files (`vaultrunner retry`); the one they create (retry's
    // cycleStart) the service also writes itself when it notices the retry. So a cached "absent"
    // stays true: no stat for it (dispatch asks for every planned task, every pass).
    if (hit?.stamp === 'absent' || (hit && this.snapshot.has(id))) return hit.state;
    let stamp = await this.stampOf(id);
    if (stamp === 'absent' && !hit) {
      await this.adoptLegacy(id);
      stamp = await this.stampOf(id);
    }
    if (hit && hit.stamp === stamp) return hit.state;
    const state = stamp === 'absent' ? {} : stateOf(await readJson<StoredState>(this.file(id)));
    this.cache.set(id, { stamp, state });
    return state;
  }

  /**
   * Read-modify-write, one at a time per task: the executor, the watchdog and a run's session
   * bookkeeping may patch the same task at once, and a lost update loses a backoff or a count.
   * Pass a function to compute the patch from the current state.
   */
  patch(id: string, patch: Partial<TaskState> | ((cur: TaskState) => Partial<TaskState>)): Promise<TaskState> {
    return this.queue.run(id, async () => {
      const cur = await this.get(id);
      const next: TaskState = { ...cur, ...(typeof patch === 'function' ? patch(cur) : patch) };
      for (const k of Object.keys(next) as (keyof TaskState)[]) if (next[k] === undefined) delete next[k];
      if (JSON.stringify(next) === JSON.stringify(cur)) return cur;
      if (Object.keys(next).length === 0) await removeFile(this.file(id));
      else await writeJson(this.file(id), { task: id, ...next } satisfies StoredState, { fsync: false });
      this.cache.set(id, { stamp: await this.stampOf(id), state: next });
      return next;
    });
  }

  /** Forget everything about the task, except the `keep` keys (kept across a finished run). */
  clear(id: string, keep: readonly (keyof TaskState)[] = []): Promise<void> {
    if (keep.length) return this.patch(id, (cur) => Object.fromEntries(Object.keys(cur).map((k) => [k, keep.includes(k as keyof TaskState) ? cur[k as keyof TaskState] : undefined]))).then(() => undefined);
    return this.queue.run(id, async () => {
      await removeFile(this.file(id));
      const legacy = legacyStateFileName(id);
      if (legacy) await removeFile(join(this.dir, legacy));
      this.cache.set(id, { stamp: 'absent', state: {} });
    });
  }

  /**
   * A retry's fresh cycle (the CLI's `retry`, the web page's): no backoff, failure count or session
   * carried over; `attempts` keeps counting (no transcript is overwritten), so `max_attempts`
   * counts from the attempts made so far. Whose session the note's `session_id` is stays known: a
   * review round after the retry must not hand another agent's id to the note's new `agent:`.
   */
  async startCycle(id: string, attemptsSoFar: number): Promise<void> {
    await this.clear(id, ['sessionAgent']);
    if (attemptsSoFar > 0) await this.patch(id, { cycleStart: attemptsSoFar });
  }
}

interface Listing {
  names: ReadonlySet<string>;
  regular: ReadonlySet<string>;
  /** Readable prefixes of the files there are (an id whose prefix has no file needs no hash). */
  prefixes: ReadonlyMap<string, string[]>;
  /** A file under an older version's name (no `-<hash>` before `.json`) is there. */
  legacyNames: boolean;
}

function listingOf(names: string[], regular: ReadonlySet<string>): Listing {
  const prefixes = new Map<string, string[]>();
  let legacyNames = false;
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    const p = n.slice(0, n.lastIndexOf('-'));
    const list = prefixes.get(p);
    if (list) list.push(n);
    else prefixes.set(p, [n]);
    if (isLegacyName(n)) legacyNames = true;
  }
  return { names: new Set(names), regular, prefixes, legacyNames };
}

/** A state file: the state and, since files carry it, the task it belongs to (see prime). */
type StoredState = TaskState & { task?: string };

const ONE_SHOT = 'one-shot read';

const HASHED_NAME = /-[0-9a-f]{24}\.json$/;
/** A state file under an older version's name (no `-<hash>` before `.json`). */
const isLegacyName = (n: string): boolean => n.endsWith('.json') && !HASHED_NAME.test(n);

function stateOf(stored: StoredState | undefined): TaskState {
  if (!stored) return {};
  const { task: _task, ...state } = stored;
  return state;
}

function stampText(st: { mtimeMs: number; size: number; ino: number }): string {
  return `${st.mtimeMs}:${st.size}:${st.ino}`;
}
