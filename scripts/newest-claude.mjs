#!/usr/bin/env node
// Prints the newest released 2.x of @anthropic-ai/claude-code on the registry (no prereleases),
// from `npm view … versions --json` on stdin. npm's own `@2` would pick the `latest` tag instead.
let s = '';
process.stdin.on('data', (d) => (s += d));
process.stdin.on('end', () => {
  const all = [].concat(JSON.parse(s || '[]')).filter((v) => /^2\.\d+\.\d+$/.test(v));
  const key = (v) => v.split('.').map(Number);
  all.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  process.stdout.write(all.at(-1) ?? '');
});
