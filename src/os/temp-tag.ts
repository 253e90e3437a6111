// The 8 hex digits that make a temp file's name unique (`.<name>.vr-<tag>.tmp`). Asking the
// CSPRNG for each one cost ~40 us a call on the pickup path; a name only has to be unique (it is
// created with O_EXCL), so one random seed per process is stepped by an odd constant instead: no
// repeat within a process for 2^32 names, and between processes as unlikely as 32 random bits.
import { randomBytes } from './lazy-crypto.js';

let next: number | undefined;

export function tempTag(): string {
  next ??= randomBytes(4).readUInt32BE(0);
  const tag = next;
  next = (next + 0x9e3779b1) >>> 0;
  return tag.toString(16).padStart(8, '0');
}
