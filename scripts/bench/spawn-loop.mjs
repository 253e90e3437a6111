#!/usr/bin/env node
// A floor for scaling: the process starts a git run is made of (Node, git), one after another.
// The queue bench times one copy alone and two at once: how much a second stream of process
// starts gains on this machine, whatever vaultrunner does. Run: node spawn-loop.mjs <rounds>
import { spawnSync } from 'node:child_process';

const rounds = Number(process.argv[2] ?? 10);
for (let i = 0; i < rounds; i++) {
  spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  for (let j = 0; j < 4; j++) spawnSync('git', ['--version'], { stdio: 'ignore' });
}
