import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isZombie } from '../../src/os/process.js';
import { createHarness, eventsFrom, nextEvent, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

// A zombie (exited, not yet reaped by its parent or init) is not alive.
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !isZombie(pid);
};

function setStatus(path: string, status: string): void {
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace(/^status: .*$/m, `status: ${status}`));
}

describe('the watchdog', () => {
  it('stops a hung agent at its timeout, kills its whole process tree, and records a timeout', async () => {
    h = createHarness({ AGENT: 'hang' });
    await h.start();
    h.drop('stuck', 'type: claude_code\ntimeout: 1s\nmax_attempts: 1');
    const failed = await waitFor(() => h.status('stuck') === 'failed' && h.find('stuck'), 'timed-out task failed');
    expect(failed.text).toMatch(/^error: .*timeout/m);
    expect(failed.text).not.toMatch(/^status: done/m);
    // The fixture prints its own pid and its grandchild's; the transcript has them.
    const transcript = readFileSync(join(h.vault, 'Logs', 'runs', 'stuck', 'attempt-1.md'), 'utf8');
    const pids = [...transcript.matchAll(/(?:grandchild|child) (\d+)/g)].map((m) => Number(m[1]));
    expect(pids.length).toBeGreaterThanOrEqual(2); // the agent and its grandchild
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it('kills an agent that ignores SIGTERM', async () => {
    h = createHarness({ AGENT: 'stubborn', KILL_GRACE: '300ms' });
    await h.start();
    h.drop('deaf', 'type: claude_code\ntimeout: 800ms\nmax_attempts: 1');
    await waitFor(() => h.status('deaf') === 'failed', 'stubborn task failed');
    const run = h.runs().find((r) => r.task === 'deaf')!;
    expect(alive(run.pid)).toBe(false);
    expect(h.find('deaf')!.text).toMatch(/^error: .*timeout/m);
  });
});

describe('retries', () => {
  it('retries a failing agent max_attempts times with backoff, then marks it failed', async () => {
    h = createHarness({ AGENT: 'fail', RETRY_BACKOFF: '200ms' });
    await h.start();
    h.drop('flaky', 'type: claude_code\nmax_attempts: 3');
    const failed = await waitFor(() => h.status('flaky') === 'failed' && h.find('flaky'), 'failed after retries');
    expect(failed.folder).toBe('Needs_Action'); // failed tasks stay for a person to fix
    expect(failed.text).toMatch(/^attempts: 3$/m);
    expect(failed.text).toMatch(/^error: "?.*exited with code 3/m);
    const starts = h.runs().filter((r) => r.task === 'flaky').map((r) => r.start);
    expect(starts).toHaveLength(3);
    // 200ms then 400ms, each with ±25 % jitter.
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(150);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(300);
    await eventsFrom(h.events, 'dispatch:pass', 3);
    expect(h.runs().filter((r) => r.task === 'flaky')).toHaveLength(3); // and never again
  });
});

describe('people steer by editing frontmatter', () => {
  it('pauses and resumes a queued task', async () => {
    h = createHarness();
    await h.start();
    const seen = eventsFrom(h.events, 'orchestrator:step', 2, (e) => e.taskId === 'later');
    const path = h.drop('later', 'type: claude_code\nstatus: paused');
    await seen;
    await eventsFrom(h.events, 'dispatch:pass', 2);
    expect(h.runs()).toHaveLength(0);
    setStatus(path, 'new');
    await waitFor(() => h.find('later')?.folder === 'Done', 'resumed task done');
  });

  it('pauses a running task (agent stopped), then resumes it on `planned`', async () => {
    h = createHarness({}, { agentEnv: { FIXTURE_SLEEP_MS: '3000' } });
    await h.start();
    const path = h.drop('long', 'type: claude_code');
    await waitFor(() => h.status('long') === 'executing' && h.runs().length === 1, 'running');
    const first = h.runs()[0]!;
    const ended = nextEvent(h.events, 'run:end', (e) => e.taskId === 'long');
    setStatus(path, 'paused');
    await waitFor(() => !alive(first.pid), 'agent stopped after pause');
    expect((await ended).stopReason).toBe('pause');
    await eventsFrom(h.events, 'dispatch:pass', 2);
    expect(h.status('long')).toBe('paused');
    expect(h.runs()).toHaveLength(1);
    setStatus(path, 'planned');
    await waitFor(() => h.find('long')?.folder === 'Done', 'resumed and done', 20_000);
    expect(h.runs()).toHaveLength(2);
  });

  it('cancels a running task: the agent stops and the note is filed in Done/ as cancelled', async () => {
    h = createHarness({}, { agentEnv: { FIXTURE_SLEEP_MS: '5000' } });
    await h.start();
    const path = h.drop('nope', 'type: claude_code');
    await waitFor(() => h.runs().length === 1, 'running');
    setStatus(path, 'cancelled');
    const done = await waitFor(() => h.find('nope')?.folder === 'Done' && h.find('nope'), 'cancelled note filed');
    expect(done.text).toMatch(/^status: cancelled$/m);
    expect(alive(h.runs()[0]!.pid)).toBe(false);
  });

  it('keeps an edit a person makes to the body and other keys during a run', async () => {
    h = createHarness({}, { agentEnv: { FIXTURE_SLEEP_MS: '800' } });
    await h.start();
    const path = h.drop('edited', 'type: claude_code');
    await waitFor(() => h.status('edited') === 'executing', 'executing');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('type: claude_code', 'type: claude_code\ntags: [review-me]'));
    appendFileSync(path, '\nA line added during the run.\n');
    const done = await waitFor(() => h.find('edited')?.folder === 'Done' && h.find('edited'), 'done');
    expect(done.text).toContain('A line added during the run.');
    expect(done.text).toContain('tags: [review-me]');
    expect(done.text).toMatch(/^status: done$/m);
  });

  it('records the outcome on a note moved to another task folder mid-run: one run, not a second', async () => {
    h = createHarness({}, { agentEnv: { FIXTURE_SLEEP_MS: '2000' } });
    await h.start();
    const path = h.drop('moved', 'type: claude_code');
    await waitFor(() => h.runs().length === 1, 'running');
    const ended = nextEvent(h.events, 'run:end', (e) => e.taskId === 'moved');
    renameSync(path, join(h.vault, 'Pending_Approval', 'moved.md'));
    expect((await ended).ok).toBe(true);
    const done = await waitFor(() => h.find('moved')?.folder === 'Done' && h.find('moved'), 'moved note done');
    expect(done.text).toMatch(/^status: done$/m);
    await eventsFrom(h.events, 'dispatch:pass', 2);
    expect(h.runs()).toHaveLength(1);
  });

  it('treats a note moved into Done/ by hand as the person\'s decision', async () => {
    h = createHarness({}, { agentEnv: { FIXTURE_SLEEP_MS: '5000' } });
    await h.start();
    const path = h.drop('handled', 'type: claude_code');
    await waitFor(() => h.runs().length === 1, 'running');
    const target = join(h.vault, 'Done', 'handled.md');
    const ended = nextEvent(h.events, 'run:end', (e) => e.taskId === 'handled');
    renameSync(path, target);
    await waitFor(() => !alive(h.runs()[0]!.pid), 'agent stopped');
    expect((await ended).stopReason).toBe('moved');
    await eventsFrom(h.events, 'dispatch:pass', 2);
    expect(h.find('handled')!.folder).toBe('Done');
    expect(h.runs()).toHaveLength(1);
  });
});

describe('retries under a busy watchdog', () => {
  // The watchdog looks for `executing` notes nobody runs; a retry that starts while it looks must
  // not be taken for one (that requeued a live run and gave the task an extra attempt).
  it('gives every failing task exactly max_attempts runs', async () => {
    h = createHarness({ AGENT: 'fail', RETRY_BACKOFF: '1ms', WATCHDOG_INTERVAL: '50ms', MAX_CONCURRENT: '8' });
    await h.start();
    const ids = Array.from({ length: 16 }, (_, i) => `r${i}`);
    for (const id of ids) h.drop(id, 'type: claude_code\nstatus: planned\nmax_attempts: 3');
    await waitFor(() => ids.every((id) => h.status(id) === 'failed'), 'all failed', 25_000);
    await Promise.all([eventsFrom(h.events, 'dispatch:pass', 2), eventsFrom(h.events, 'watchdog:pass', 2)]);
    for (const id of ids) {
      expect(h.find(id)!.text, id).toMatch(/^attempts: 3$/m);
      expect(h.runs().filter((r) => r.task === id), id).toHaveLength(3);
    }
  });
});
