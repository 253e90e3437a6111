// File names for machine state about a task (leases, per-task state). A task's id is its note's
// name, up to 255 bytes of any script, and an encoded name plus a temp suffix overflowed the
// 255-byte name limit (ENAMETOOLONG stopped every dispatch pass). The key is a short readable
// prefix plus a hash of the whole id: bounded, and distinct for distinct ids.
import { createHash } from '../os/lazy-crypto.js';

/** Bytes of the readable part (UTF-8, whole characters). */
export const STATE_KEY_PREFIX_BYTES = 48;
const HASH_CHARS = 24; // 96 bits of sha256

/** `<readable prefix>-<hash>`: at most 73 bytes, never starting with a dot, safe on every filesystem. */
// Keys are asked for on every pass for every task; ids repeat, so remember a bounded number.
const cache = new Map<string, string>();
const CACHE_MAX = 20_000;

export function stateKey(id: string): string {
  let key = cache.get(id);
  if (key === undefined) {
    if (cache.size >= CACHE_MAX) cache.clear();
    key = computeStateKey(id);
    cache.set(id, key);
  }
  return key;
}

function computeStateKey(id: string): string {
  const hash = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, HASH_CHARS);
  return `${stateKeyPrefix(id)}-${hash}`;
}

/** The readable part of the key (before its last `-`): cheap, no hash. */
const PLAIN_ID = /^(?:[A-Za-z0-9-]|_(?!_)){1,48}$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

export function stateKeyPrefix(id: string): string {
  // Already its own prefix (letters, digits, '-', single '_', at most 48): nothing to build.
  if (PLAIN_ID.test(id)) return id;
  // Printable ASCII (nearly every id): one byte a character, nothing to normalise.
  if (PRINTABLE.test(id)) return id.slice(0, STATE_KEY_PREFIX_BYTES).replace(/[^A-Za-z0-9_-]/g, '_').replace(/_+/g, '_') || 'task';
  // Letters and digits of any script stay readable; everything else becomes '_'.
  const readable = id.normalize('NFC').replace(/[^\p{L}\p{N}_-]/gu, '_');
  return utf8Prefix(readable, STATE_KEY_PREFIX_BYTES).replace(/_+/g, '_') || 'task';
}

/** The longest start of `s` in at most `max` UTF-8 bytes, whole characters only (a file name's
 *  part: state keys here, note-store's temp names). */
export function utf8Prefix(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    bytes += Buffer.byteLength(ch);
    if (bytes > max) break;
    out += ch;
  }
  return out;
}

/** The `.json` state file name of a task. */
export function stateFileName(id: string): string {
  return `${stateKey(id)}.json`;
}

/** The name older versions used (percent-encoded id), when it fits a file name at all. */
export function legacyStateFileName(id: string): string | undefined {
  const name = `${encodeURIComponent(id)}.json`;
  return Buffer.byteLength(name) <= 255 ? name : undefined;
}
