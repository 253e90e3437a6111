// Reading an open file to its end with blocking calls, into a buffer the caller owns (a scratch
// buffer reused across files allocates nothing per file; readFileSync allocates a fresh one).
import { readSync } from 'node:fs';

/**
 * Everything left in `fd`, read into `buf`, or, when it fills, into a buffer twice as big (and so
 * on). Returns a view of the bytes: valid until the caller reuses that buffer.
 */
export function readToEnd(fd: number, buf: Buffer): Buffer {
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const n = readSync(fd, buf, len, buf.length - len, null);
    if (n === 0) return buf.subarray(0, len);
    len += n;
  }
}
