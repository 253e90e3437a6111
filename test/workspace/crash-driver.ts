// Runs one workspace step in its own process so a test can kill -9 it at a fault point
// (VAULTRUNNER_FAULT) and then check what a second, normal call does. argv[2]: {op, req} as JSON.
import { commitAll } from '../../src/workspace/commit.js';
import { mergeTask } from '../../src/workspace/merge.js';
import { openWorkspace } from '../../src/workspace/open.js';

const { op, req } = JSON.parse(process.argv[2]!) as { op: 'open' | 'commit' | 'merge'; req: never };
const fn = { open: openWorkspace, commit: commitAll, merge: mergeTask }[op] as (r: never) => Promise<unknown>;
process.stdout.write(JSON.stringify(await fn(req)));
