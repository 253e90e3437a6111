// Follow a growing file (a run transcript) from a byte offset: yields whole lines as they are
// appended, each chunk with the offsets it spans, so a reader can resume exactly where it stopped.
// A change event wakes it at once (fs.watch); a short poll covers filesystems without events and
// a file that does not exist yet. The file is opened without following symbolic links.
import { constants, watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export type TailItem = { kind: 'data'; text: string; start: number; end: number } | { kind: 'reset' };

export interface TailOptions {
  path: string;
  /** Byte offset to start from (a resume point). */
  from: number;
  signal: AbortSignal;
  /** Poll interval when no change event arrives (default 250 ms). */
  pollMs?: number;
  /** A last line without a newline is sent once it has been stable this long (default 400 ms). */
  settleMs?: number;
  /** Largest chunk read at once (default 64 KiB; cut at a line end). */
  maxChunk?: number;
}

export async function* tailFile(opts: TailOptions): AsyncGenerator<TailItem> {
  const pollMs = opts.pollMs ?? 250;
  const settleMs = opts.settleMs ?? 400;
  const maxChunk = opts.maxChunk ?? 64 * 1024;
  let pos = Math.max(0, Math.floor(opts.from));
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  let partialSince = 0;
  const kick = () => wake?.();
  opts.signal.addEventListener('abort', kick, { once: true });
  try {
    while (!opts.signal.aborted) {
      const st = await stat(opts.path).catch(() => undefined);
      if (st && !watcher) {
        try {
          watcher = watch(opts.path, { persistent: false }, kick);
          watcher.on('error', () => undefined);
        } catch {
          /* polling still works */
        }
      }
      let progressed = false;
      if (st && st.size < pos) {
        pos = 0; // replaced by a shorter file: the reader starts over
        yield { kind: 'reset' };
        progressed = true;
      } else if (st && st.size > pos) {
        const buf = await readRange(opts.path, pos, Math.min(st.size - pos, maxChunk));
        let cut = buf.lastIndexOf(0x0a) + 1;
        if (cut === 0) {
          // No line end yet: wait for one, unless the writer has been quiet a while (the last line).
          if (!partialSince) partialSince = Date.now();
          if (buf.length >= maxChunk || Date.now() - partialSince >= settleMs) cut = utf8Boundary(buf);
        }
        if (cut > 0) {
          partialSince = 0;
          const start = pos;
          pos += cut;
          yield { kind: 'data', text: buf.subarray(0, cut).toString('utf8'), start, end: pos };
          progressed = true;
        }
      }
      if (progressed) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, partialSince ? Math.min(pollMs, settleMs) : pollMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    watcher?.close();
    opts.signal.removeEventListener('abort', kick);
  }
}

async function readRange(path: string, start: number, length: number): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Length of the longest prefix of `buf` that ends on a whole UTF-8 character. */
export function utf8Boundary(buf: Buffer): number {
  let i = buf.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the last character.
  let back = 0;
  while (i - back - 1 >= 0 && back < 4 && (buf[i - back - 1]! & 0xc0) === 0x80) back++;
  const lead = i - back - 1;
  if (lead < 0) return 0;
  const b = buf[lead]!;
  const need = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return back + 1 >= need ? i : lead;
}
