// Random frontmatter for the cheap reader's and the cheap editor's differential tests.

// Seeded fragments put together at random: many near-misses of the simple forms.
export function fuzz(n: number): string[] {
  let seed = 42;
  const rnd = (k: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff), (seed >>> 8) % k);
  const keys = ['type', 'status', 'title', 'a', 'b', 'tags', 'blocked_by', 'x_y', 'k-1', 'True', 'null'];
  const vals = ['', ' ', 'plain', 'two words', '"dq"', "'sq'", '"a # b"', 'x # c', 'x#c', '1', '-1', '1.5', '1e5', '0x10', '.5', 'true', 'no', '~', 'null', '[a, b]', '[]', '[a, "b"]', '[a b, c]', '{a: 1}', 'a: b', '&a x', '*a', '!t x', '|', '>-', '"', "'", '2026-01-01', '10m', '[[link]]', 'see [[link]]', '- x', '@', '%', '`', ':x', 'x:', 'a:b', ' lead', 'tail ', '"é"', 'ü'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const lines: string[] = [];
    const count = 1 + rnd(6);
    for (let j = 0; j < count; j++) {
      const r = rnd(10);
      if (r === 0) lines.push(`${' '.repeat(rnd(3))}- ${vals[rnd(vals.length)]}`);
      else if (r === 1) lines.push(rnd(2) ? '# comment' : '');
      else lines.push(`${rnd(8) === 0 ? ' ' : ''}${keys[rnd(keys.length)]}:${rnd(6) === 0 ? '' : ' '}${vals[rnd(vals.length)]}`);
    }
    const eol = rnd(5) === 0 ? '\r\n' : '\n';
    out.push(lines.join(eol) + eol);
  }
  return out;
}
