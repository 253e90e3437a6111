// The benchmarks' waits on the kernel's events (scripts/bench/common.ts): a real temp folder,
// files renamed and linked in as the service and the floor file notes; and how startService
// reads the service's output (a real stand-in process).
import { appendFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startService, untilNotes, waitForFact, waitUntil } from '../../scripts/bench/common.js';

let root: string;
let done: string;
let staging: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vr-bench-wait-'));
  done = join(root, 'Done');
  staging = join(root, '.staging');
  mkdirSync(done);
  mkdirSync(staging);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const stage = (name: string) => {
  const p = join(staging, name);
  writeFileSync(p, 'x\n');
  return p;
};

describe('untilNotes', () => {
  it('resolves once the folder holds n notes, counting renames and links, not dot-files or other files', async () => {
    writeFileSync(join(done, 'before.md'), 'x\n'); // there before the wait: counts
    let settled = false;
    // The listing net never fires within the test's time: only the folder's events can count.
    const waiting = untilNotes(done, 3, 10_000, 60_000).then((at) => ((settled = true), at));
    renameSync(stage('a.md'), join(done, 'a.md')); // as the floor files a note
    writeFileSync(join(done, '.a.md.vr-1.tmp'), 'x\n'); // a temp file: not a note
    writeFileSync(join(done, 'notes.txt'), 'x\n');
    // A negative needs a window: the events of those three writes arrive well within it.
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    const before = Date.now();
    linkSync(stage('b.md'), join(done, 'b.md')); // as the service files one
    const at = await waiting;
    expect(at).toBeGreaterThanOrEqual(before);
  });

  it('rejects with what it waited for when the notes never come', async () => {
    renameSync(stage('a.md'), join(done, 'a.md'));
    await expect(untilNotes(done, 2, 300)).rejects.toThrow(/2 notes in .*Done/);
  });
});

describe('waitForFact', () => {
  it('looks again when a watched file changes and resolves with the value', async () => {
    const log = join(root, 'agent.log');
    writeFileSync(log, '');
    const waiting = waitForFact(() => /start (\S+)/.exec(readFileSync(log, 'utf8'))?.[1], [log], 'a start line', 10_000, 60_000); // the net never fires: the change event must
    appendFileSync(log, 'start task-1 123\n');
    await expect(waiting).resolves.toBe('task-1');
  });

  it('rejects on timeout, and with the error the check threw', async () => {
    await expect(waitForFact(() => false, [root], 'nothing', 200)).rejects.toThrow(/timed out after 200 ms waiting for nothing/);
    await expect(
      waitForFact(
        () => {
          throw new Error('bad check');
        },
        [root],
        'a throwing check',
        1000,
      ),
    ).rejects.toThrow('bad check');
  });
});

describe('startService', () => {
  it('resolves ready on the start line even split across two writes, and keeps only the last 200 KB', { timeout: 20_000 }, async () => {
    // A stand-in for the CLI (startService runs `node <cli> start --vault <vault>`): a real process.
    const cli = join(root, 'fake-cli.mjs');
    writeFileSync(
      cli,
      `process.stderr.write('vaultrunner st');
setTimeout(() => {
  process.stderr.write('arted\\n');
  for (let i = 0; i < 3000; i++) process.stdout.write('line ' + i + ' ' + 'x'.repeat(100) + '\\n');
  process.stdout.write('last line\\n');
}, 50);
setInterval(() => {}, 1000);
process.on('SIGTERM', () => process.exit(0));
`,
    );
    const dir = { root, vault: join(root, 'vault'), agentLog: join(root, 'agent.log'), cleanup() {} };
    const svc = startService(dir, { PATH: process.env.PATH }, [], cli);
    try {
      await svc.ready;
      await waitUntil(() => svc.output().endsWith('last line\n'), 'the last line', 10_000);
      const out = svc.output();
      expect(out.length).toBe(200_000); // ~330 KB written: exactly the last 200 KB, whatever the chunks
      expect(out).not.toContain('vaultrunner started'); // that was at the start, beyond the last 200 KB
    } finally {
      await svc.stop();
    }
  });
});
