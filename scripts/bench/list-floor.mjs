#!/usr/bin/env node
// The `list` floor: plain Node reading every note in the active folders and printing its name,
// nothing else. Run: node scripts/bench/list-floor.mjs <vault>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const vault = process.argv[2];
const out = [];
for (const f of ['Needs_Action', 'Pending_Approval']) {
  const dir = join(vault, f);
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.md')) continue;
    readFileSync(join(dir, name), 'utf8');
    out.push(name.slice(0, -3));
  }
}
process.stdout.write(`${out.join('\n')}\n`);
