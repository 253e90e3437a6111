import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, eventsFrom, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

const mtimes = (dir: string) => Object.fromEntries(readdirSync(dir).filter((n) => n.endsWith('.md')).map((n) => [n, statSync(join(dir, n)).mtimeMs]));

describe('an idle service', () => {
  it('writes no note while nothing changes', async () => {
    h = createHarness({ ORCHESTRATOR_INTERVAL: '100ms', EXECUTOR_INTERVAL: '100ms', WATCHDOG_INTERVAL: '100ms' });
    await h.start();
    h.drop('finished', 'type: claude_code');
    h.drop('held', 'type: claude_code\nstatus: paused');
    h.drop('waiting', 'type: claude_code\nblocked_by: held');
    h.drop('broken-priority', 'type: claude_code\npriority: soon');
    h.drop('unreadable', 'type: [unclosed');
    h.drop('loop-a', 'type: claude_code\nblocked_by: loop-b');
    h.drop('loop-b', 'type: claude_code\nblocked_by: loop-a');
    await waitFor(() => h.find('finished')?.folder === 'Done', 'first task done');
    await waitFor(() => /^error:/m.test(h.find('loop-a')!.text) && /^error:/m.test(h.find('broken-priority')!.text), 'problems reported');
    const passes = (n: number) => Promise.all([eventsFrom(h.events, 'dispatch:pass', n), eventsFrom(h.events, 'watchdog:pass', n), eventsFrom(h.events, 'orchestrator:step', n, (e) => e.taskId === 'loop-a')]);
    await passes(2);
    const before = { na: mtimes(join(h.vault, 'Needs_Action')), plans: mtimes(join(h.vault, 'Plans')), done: mtimes(join(h.vault, 'Done')) };
    await passes(10); // ten passes of every component
    expect({ na: mtimes(join(h.vault, 'Needs_Action')), plans: mtimes(join(h.vault, 'Plans')), done: mtimes(join(h.vault, 'Done')) }).toEqual(before);
    // …and reported each problem once, not on every pass.
    const cycleReports = h.logLines().filter((l) => l.task === 'loop-a' && String(l.problem ?? '').includes('cycle'));
    expect(cycleReports).toHaveLength(1);
  });
});

describe('agent health', () => {
  it('does not dispatch to an agent CLI that cannot be called, and says so once', async () => {
    h = createHarness({ COMMAND_AGENTS: JSON.stringify({ ghost: ['/nonexistent/agent-cli'] }), AGENT: 'ghost' });
    await h.start();
    h.drop('haunted', 'type: claude_code');
    await waitFor(() => h.status('haunted') === 'planned', 'planned');
    await waitFor(() => h.logLines().some((l) => l.agent === 'ghost' && String(l.msg).includes('cannot be called')), 'reported');
    await Promise.all([eventsFrom(h.events, 'dispatch:pass', 3), eventsFrom(h.events, 'watchdog:pass', 3)]);
    expect(h.status('haunted')).toBe('planned'); // waits; never marked failed or executing
    expect(h.logLines().filter((l) => l.agent === 'ghost' && String(l.msg).includes('cannot be called'))).toHaveLength(1);
  });
});

describe('missed events', () => {
  it('a task folder deleted and recreated is rescanned and its notes run', async () => {
    h = createHarness();
    await h.start();
    rmSync(join(h.vault, 'Needs_Action'), { recursive: true });
    await waitFor(() => h.logLines().some((l) => l.component === 'watcher' && String(l.reason ?? '').includes('Needs_Action')), 'the removal noticed');
    mkdirSync(join(h.vault, 'Needs_Action'));
    h.drop('after-recreate', 'type: claude_code');
    await waitFor(() => h.find('after-recreate')?.folder === 'Done', 'task in recreated folder done');
  });

  it('WATCH_MODE=poll notices a dropped note by polling, with the timers far away', async () => {
    // The periodic scans are an hour off, so only the polling watcher can find the note.
    h = createHarness({ WATCH_MODE: 'poll', ORCHESTRATOR_INTERVAL: '1h', EXECUTOR_INTERVAL: '1h' });
    await h.start();
    await new Promise((r) => setTimeout(r, 1000)); // past the scan the service makes as it starts
    h.drop('polled', 'type: claude_code');
    await waitFor(() => h.find('polled')?.folder === 'Done', 'polled task done', 10_000);
    expect(h.runs().filter((r) => r.task === 'polled')).toHaveLength(1);
    expect(h.logLines().some((l) => l.component === 'watcher' && l.mode === 'poll')).toBe(true);
  });
});
