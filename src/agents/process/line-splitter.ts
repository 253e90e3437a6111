// Bounded line splitter for a child's stdout/stderr: memory stays O(maxLineBytes) even if the
// child prints gigabytes without a newline. Works on bytes so a chunk boundary inside a UTF-8
// character is harmless; only a truncated line can end in a replacement character.

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface SplitLine {
  /** The line without its trailing "\n" (and "\r"), or its first `maxLineBytes` bytes. */
  line: string;
  /** True when the line was longer than the limit and the rest was dropped. */
  truncated: boolean;
  /** Full length of the line in bytes, including any dropped part. */
  bytes: number;
}

export interface LineSplitterOptions {
  maxLineBytes?: number;
}

const NL = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  readonly maxLineBytes: number;
  private parts: Buffer[] = [];
  private kept = 0; // bytes held in `parts` (never more than maxLineBytes)
  private total = 0; // bytes of the current line seen so far, including dropped ones

  constructor(opts: LineSplitterOptions = {}) {
    const max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${max}`);
    this.maxLineBytes = max;
  }

  /** Feed a chunk; returns the lines it completed, in order. */
  push(chunk: Buffer | Uint8Array | string): SplitLine[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: SplitLine[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NL, start);
      if (nl === -1) break;
      this.take(buf, start, nl);
      out.push(this.emit());
      start = nl + 1;
    }
    if (start < buf.length) this.take(buf, start, buf.length);
    return out;
  }

  /** Flush a final line that had no trailing newline (call once, when the stream ends). */
  end(): SplitLine[] {
    return this.total > 0 ? [this.emit()] : [];
  }

  /** Bytes currently buffered for the unfinished line (for tests and metrics). */
  get pendingBytes(): number {
    return this.kept;
  }

  private take(buf: Buffer, from: number, to: number): void {
    const len = to - from;
    this.total += len;
    const room = this.maxLineBytes - this.kept;
    if (room <= 0 || len === 0) return;
    // Copy: the caller may reuse its chunk buffer, and a subarray would pin the whole chunk.
    const slice = Buffer.from(buf.subarray(from, from + Math.min(room, len)));
    this.parts.push(slice);
    this.kept += slice.length;
  }

  private emit(): SplitLine {
    let bytes = Buffer.concat(this.parts, this.kept);
    const truncated = this.total > this.kept;
    let total = this.total;
    if (!truncated && bytes.length > 0 && bytes[bytes.length - 1] === CR) {
      bytes = bytes.subarray(0, bytes.length - 1);
      total -= 1;
    }
    this.parts = [];
    this.kept = 0;
    this.total = 0;
    return { line: bytes.toString('utf8'), truncated, bytes: total };
  }
}
