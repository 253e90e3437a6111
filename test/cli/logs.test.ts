// `logs`: several hosts' daily files merged by time, filters, and -f following a running file.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followLogs, type LogRecord } from '../../src/cli/commands/logs.js';
import { createCliVault, waitUntil } from '../helpers/cli-vault.js';

const v = createCliVault();
afterAll(() => v.cleanup());

const t0 = new Date(2026, 0, 2, 10, 0, 0).getTime();
const line = (o: Record<string, unknown>) => `${JSON.stringify({ pid: 1, ...o })}\n`;
const logs = join(v.vault, 'Logs');
const fileA = join(logs, 'vaultrunner-hostA-2026-01-02.jsonl');
const fileB = join(logs, 'vaultrunner-hostB-2026-01-02.jsonl');
writeFileSync(
  fileA,
  line({ level: 30, time: t0, component: 'orchestrator', task: 'alpha', from: 'new', to: 'planned', msg: 'A1 alpha planned' }) +
    line({ level: 40, time: t0 + 2000, component: 'watchdog', msg: 'A2 agent missing' }) +
    '{"torn": \n' +
    line({ level: 20, time: t0 + 4000, component: 'executor', task: 'beta', msg: 'A3 beta debug' }),
);
writeFileSync(fileB, line({ level: 30, time: t0 + 1000, component: 'executor', task: 'beta', msg: 'B1 beta started' }) + line({ level: 50, time: t0 + 3000, component: 'executor', task: 'alpha', msg: 'B2 alpha failed', code: 'AGENT_FAILED' }));

const messages = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => /\b([AB]\d|C\d)\b/.exec(l)?.[1]);

describe('vaultrunner logs', () => {
  it('merges hosts by time and prints readable lines', () => {
    const r = v.run(['logs']);
    expect(r.code, r.stderr).toBe(0);
    expect(messages(r.stdout)).toEqual(['A1', 'B1', 'A2', 'B2', 'A3']);
    // The layout itself is formatLogLine's business; check it was used (time, level, component).
    expect(r.stdout).toMatch(/^10:00:00 INFO +\[orchestrator\] .*A1 alpha planned$/m);
    expect(r.stdout).toContain('code=AGENT_FAILED');
  });

  it('filters by task and by minimum level', async () => {
    const [task, level, both, last] = await Promise.all([
      v.runAsync(['logs', '--task', 'alpha']),
      v.runAsync(['logs', '--level', 'warn']),
      v.runAsync(['logs', '--task', '[[beta]]', '--level', 'info']),
      v.runAsync(['logs', '-n', '2']),
    ]);
    expect(messages(task.stdout)).toEqual(['A1', 'B2']);
    expect(messages(level.stdout)).toEqual(['A2', 'B2']);
    expect(messages(both.stdout)).toEqual(['B1']);
    expect(messages(last.stdout)).toEqual(['B2', 'A3']);
  });

  it('-f prints lines appended after it started, also from a new daily file, and exits 0 on SIGINT', async () => {
    const p = v.spawn(['logs', '-f', '--level', 'info']);
    try {
      await waitUntil(() => p.stdout().includes('B2 alpha failed'), 'the existing lines');
      appendFileSync(fileA, line({ level: 30, time: Date.now(), component: 'executor', msg: 'C1 appended' }));
      await waitUntil(() => p.stdout().includes('C1 appended'), 'the appended line');
      // Half a line, then the rest: printed once, whole.
      const next = line({ level: 30, time: Date.now(), component: 'executor', msg: 'C2 new day' });
      const fileC = join(logs, 'vaultrunner-hostA-2026-01-03.jsonl');
      writeFileSync(fileC, next.slice(0, 20));
      await new Promise((r) => setTimeout(r, 400));
      appendFileSync(fileC, next.slice(20));
      appendFileSync(fileB, line({ level: 20, time: Date.now(), msg: 'C3 debug is filtered out' }));
      await waitUntil(() => p.stdout().includes('C2 new day'), 'a line in a new daily file');
      await new Promise((r) => setTimeout(r, 400));
      expect(p.stdout()).not.toContain('C3');
      expect(p.stdout().match(/C2 new day/g)).toHaveLength(1);
      p.child.kill('SIGINT');
      const exit = await p.exited;
      expect(exit.code).toBe(0);
      expect(p.stderr()).toBe('');
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('followLogs stops when its AbortSignal aborts', async () => {
    const ac = new AbortController();
    const seen: LogRecord[] = [];
    const run = followLogs({ dir: logs, filter: { task: 'alpha' }, signal: ac.signal, pollMs: 20, onRecords: (r) => seen.push(...r), initial: 1 });
    await waitUntil(() => seen.length === 1, 'the initial line');
    expect(seen[0]!.msg).toBe('B2 alpha failed');
    appendFileSync(fileB, line({ level: 30, time: Date.now(), task: 'alpha', msg: 'D1 more alpha' }));
    await waitUntil(() => seen.length === 2, 'the appended line');
    ac.abort();
    await run; // resolves: the loop has stopped
    expect(seen.map((r) => r.msg)).toEqual(['B2 alpha failed', 'D1 more alpha']);
  });
});
