// The checks behind validateTask, one small function per kind of property. Hand-written rather
// than zod: every note is validated on every read (thousands at start-up and in `list`), and
// zod's schemas cost ~40 µs a note plus ~100 ms of module start-up in every CLI call.
// test/domain/task-fields.test.ts checks each against the zod schema it replaced, value by value.
import { parseDuration } from '../config/duration.js';

/** What a check returns when the value is not acceptable. */
export const BAD: unique symbol = Symbol('bad');
export type Check = (raw: unknown) => unknown;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const absent = (v: unknown): v is null | undefined => v === undefined || v === null;

/** Text, or a number read as text (`title: 42`). */
export const text: Check = (v) => (typeof v === 'string' ? v : isNum(v) ? String(v) : BAD);
export const optText: Check = (v) => (absent(v) ? v : text(v));

/** true/false, or the words true/false/yes/no. */
export const optBool: Check = (v) => {
  if (absent(v) || typeof v === 'boolean') return v;
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  return BAD;
};

export function optOneOf(values: readonly string[]): Check {
  const set = new Set(values);
  return (v) => (absent(v) ? v : typeof v === 'string' && set.has(v) ? v : BAD);
}

/** A non-empty string once trimmed; the trimmed text. */
export const requiredName: Check = (v) => {
  if (typeof v !== 'string') return BAD;
  const t = v.trim();
  return t.length > 0 ? t : BAD;
};

export function optMatching(re: RegExp): Check {
  return (v) => (absent(v) ? v : typeof v === 'string' && re.test(v) ? v : BAD);
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
export const optTextOrList: Check = (v) => (absent(v) || typeof v === 'string' || isStringList(v) ? v : BAD);
export const optList: Check = (v) => (absent(v) || isStringList(v) ? v : BAD);

export function optInt(min: number, max = Number.MAX_SAFE_INTEGER): Check {
  return (v) => (absent(v) ? v : typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : BAD);
}

/** A finite number above `min` (or at least `min` when `inclusive`). */
export function optNumber(min: number, inclusive: boolean): Check {
  return (v) => (absent(v) ? v : isNum(v) && (inclusive ? v >= min : v > min) ? v : BAD);
}

/** A duration (`30s`, `10m`, a number of seconds) above 0 and at most `maxMs`; the raw value. */
export function optDuration(maxMs: number): Check {
  return (v) => {
    if (absent(v)) return v;
    if (typeof v !== 'string' && !isNum(v)) return BAD;
    const ms = parseDuration(v);
    return ms !== undefined && ms > 0 && ms <= maxMs ? v : BAD;
  };
}
