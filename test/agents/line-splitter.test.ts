import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from '../../src/agents/process/line-splitter.js';

const lines = (out: { line: string }[]) => out.map((l) => l.line);

describe('LineSplitter', () => {
  it('splits chunks into complete lines and keeps the partial one for later', () => {
    const s = new LineSplitter();
    expect(lines(s.push('a\nbb\nc'))).toEqual(['a', 'bb']);
    expect(lines(s.push('cc'))).toEqual([]);
    expect(lines(s.push('c\n\nd\n'))).toEqual(['cccc', '', 'd']);
    expect(s.end()).toEqual([]);
  });

  it('flushes a final line without newline on end(), and strips \\r', () => {
    const s = new LineSplitter();
    expect(s.push('x\r\ny')).toEqual([{ line: 'x', truncated: false, bytes: 1 }]);
    expect(s.end()).toEqual([{ line: 'y', truncated: false, bytes: 1 }]);
    expect(s.end()).toEqual([]);
  });

  it('reassembles a UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('héllo → ✓\n', 'utf8');
    const s = new LineSplitter();
    const out = [...bytes].flatMap((b) => s.push(Buffer.from([b])));
    expect(lines(out)).toEqual(['héllo → ✓']);
  });

  it('truncates an over-long line, keeps a prefix, flags it, and resumes after the newline', () => {
    const s = new LineSplitter({ maxLineBytes: 10 });
    const out = [...s.push('0123456789abcdef'), ...s.push('ghij\nnext\n')];
    expect(out).toEqual([
      { line: '0123456789', truncated: true, bytes: 20 },
      { line: 'next', truncated: false, bytes: 4 },
    ]);
  });

  it('a line of exactly the limit is not truncated', () => {
    const s = new LineSplitter({ maxLineBytes: 4 });
    expect(s.push('abcd\n')).toEqual([{ line: 'abcd', truncated: false, bytes: 4 }]);
  });

  it('stays bounded when fed 64 MiB without a newline', () => {
    const s = new LineSplitter({ maxLineBytes: 1024 });
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 64; i++) {
      expect(s.push(chunk)).toEqual([]);
      expect(s.pendingBytes).toBeLessThanOrEqual(1024);
    }
    const [last] = s.push('\n');
    expect(last?.truncated).toBe(true);
    expect(last?.line.length).toBe(1024);
    expect(last?.bytes).toBe(64 * 1024 * 1024);
  });

  it('defaults to a 1 MiB limit and rejects nonsense limits', () => {
    expect(new LineSplitter().maxLineBytes).toBe(DEFAULT_MAX_LINE_BYTES);
    expect(DEFAULT_MAX_LINE_BYTES).toBe(1024 * 1024);
    expect(() => new LineSplitter({ maxLineBytes: 0 })).toThrow(RangeError);
  });

  it('does not alias the caller’s buffer', () => {
    const s = new LineSplitter();
    const buf = Buffer.from('abc');
    s.push(buf);
    buf.fill(0x7a);
    expect(lines(s.push('\n'))).toEqual(['abc']);
  });
});
