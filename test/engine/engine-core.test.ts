// Issue 9's "done when" facts, each on a real service with real child processes: every view gives
// the executor's wait reason, deadlines and backoffs are exact, command agents resume, planners
// run on the same slots, and a plan link never leaves the vault.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { readinessText, type Readiness } from '../../src/domain/readiness.js';
import { clockTime } from '../../src/cli/commands/shared.js';
import { initVault } from '../../src/vault/init-vault.js';
import { runCliAsync } from '../helpers/cli-process.js';
import { concurrency, createHarness, eventsFrom, fixtureAgent, nextEvent, recordEvents, waitFor, type Harness } from '../helpers/vault-harness.js';
import { stateFileName } from '../../src/vault/state-key.js';
import { runOutputName } from '../../src/engine/run-output.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

const setStatus = (path: string, status: string) => writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: .*$/m, `status: ${status}`));

describe('claiming a run', () => {
  it('a planned task whose lease is held elsewhere gets nothing prepared (no transcript, no write) until the lease is gone', async () => {
    h = createHarness({ AGENT: 'ok', EXECUTOR_INTERVAL: '100ms' });
    await initVault(h.vault, { examples: false });
    const leases = join(h.vault, '.vaultrunner', 'leases');
    mkdirSync(leases, { recursive: true });
    // Another host's live lease (a second service on a synced vault): not stale for an hour.
    const lease = join(leases, stateFileName('held'));
    const owner = { host: 'elsewhere', pid: 4242, pidStart: '1', bootId: 'another-boot' };
    writeFileSync(lease, JSON.stringify({ taskId: 'held', token: 'f00d', owner, acquiredAt: Date.now(), expiresAt: Date.now() + 3_600_000, attempt: 1 }));
    const note = h.drop('held', 'type: claude_code\nstatus: planned');
    const before = readFileSync(note, 'utf8');
    const passes = eventsFrom(h.events, 'dispatch:pass', 5, (e) => e.verdicts.has('held'));
    await h.start();
    await passes;
    expect(existsSync(join(h.vault, 'Logs', 'runs', 'held'))).toBe(false);
    expect(readFileSync(note, 'utf8')).toBe(before);
    expect(readdirSync(join(h.vault, 'Needs_Action')).filter((n) => n.startsWith('.'))).toEqual([]); // no temp file either
    expect(h.runs()).toEqual([]);
    // Its holder lets go: the task runs, once, as attempt 1.
    rmSync(lease);
    await waitFor(() => h.status('held') === 'done', 'held done', 15_000);
    expect(h.runs().filter((r) => r.task === 'held')).toHaveLength(1);
    expect(readdirSync(join(h.vault, 'Logs', 'runs', 'held'))).toEqual(['attempt-1.jsonl', 'attempt-1.md']);
  });
});

describe('a run\'s output files', () => {
  it('start empty: what an earlier run of the same name left there never reaches the new run\'s transcript', async () => {
    h = createHarness({ AGENT: 'ok' });
    await initVault(h.vault, { examples: false });
    const output = join(h.vault, '.vaultrunner', 'output');
    mkdirSync(output, { recursive: true });
    for (const ext of ['out', 'err']) writeFileSync(join(output, `${runOutputName('stale', 1)}.${ext}`), `STALE-${ext.toUpperCase()}-LINE\n`);
    h.drop('stale', 'type: claude_code\nstatus: planned');
    await h.start();
    await waitFor(() => h.find('stale')?.folder === 'Done', 'stale done', 15_000);
    const transcript = readFileSync(join(h.vault, 'Logs', 'runs', 'stale', 'attempt-1.md'), 'utf8');
    expect(transcript).not.toMatch(/STALE-(OUT|ERR)-LINE/);
    expect(readFileSync(join(h.vault, 'Logs', 'runs', 'stale', 'attempt-1.jsonl'), 'utf8')).not.toMatch(/STALE-(OUT|ERR)-LINE/);
  });
});

describe('one readiness, every view', () => {
  it('list, show, Dashboard.md and the executor give the same wait reason for dependency, approval, slot, working dir busy, backoff and agent unavailable', async () => {
    const cfg = {
      MAX_CONCURRENT: '2',
      ORCHESTRATOR_AUTORUN: 'false', // every note is planned already; nothing is moved meanwhile
      AGENT: 'ok',
      COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok'), hang: fixtureAgent('hang'), broken: ['/nonexistent/vr-agent'] }),
    };
    h = createHarness(cfg);
    const w1 = join(h.root, 'w1');
    mkdirSync(w1);
    await initVault(h.vault, { examples: false });
    h.drop('runner-a', `type: claude_code\nstatus: planned\npriority: urgent\nagent: hang\nworking_dir: ${w1}`);
    h.drop('runner-b', 'type: claude_code\nstatus: planned\npriority: urgent\nagent: hang');
    const expected = {
      'dep-wait': 'dependency',
      unapproved: 'approval',
      'same-dir': 'working_dir_busy',
      'slot-wait': 'slot',
      backing: 'backoff',
      'no-agent': 'agent_unavailable',
    } as const;
    h.drop('dep-wait', 'type: claude_code\nstatus: planned\nblocked_by: "[[runner-a]]"');
    h.drop('unapproved', 'type: shell_script\nstatus: planned');
    h.drop('same-dir', `type: claude_code\nstatus: planned\nworking_dir: ${w1}`);
    h.drop('slot-wait', 'type: claude_code\nstatus: planned');
    h.drop('backing', 'type: claude_code\nstatus: planned');
    mkdirSync(join(h.vault, '.vaultrunner', 'tasks'), { recursive: true });
    writeFileSync(join(h.vault, '.vaultrunner', 'tasks', 'backing.json'), JSON.stringify({ notBefore: Date.now() + 3_600_000, failures: 1 }));
    h.drop('no-agent', 'type: claude_code\nstatus: planned\nagent: broken');

    const ids = Object.keys(expected) as (keyof typeof expected)[];
    const settled = nextEvent(h.events, 'dispatch:pass', (e) => ids.every((id) => e.verdicts.get(id)?.kind === 'waiting'), 30_000);
    await h.start();
    const pass = await settled;
    await waitFor(() => readdirSync(join(h.vault, '.vaultrunner', 'leases')).length === 2, 'both runners hold leases');

    // The executor's verdicts.
    const executor: Record<string, string> = {};
    for (const id of ids) {
      const v = pass.verdicts.get(id) as Extract<Readiness, { kind: 'waiting' }>;
      expect(v.reason.kind, id).toBe(expected[id]);
      executor[id] = readinessText(v, clockTime)!;
    }
    expect(executor['slot-wait']).toBe('slot (2/2 running)');
    expect(executor['same-dir']).toBe('working dir busy (runner-a)');

    // Dashboard.md (the same words, dependencies as links).
    await h.service!.dashboard.flush();
    const dash = readFileSync(join(h.vault, 'Dashboard.md'), 'utf8');
    const queueLine = (id: string) => new RegExp(`^\\d+\\. \\[\\[Needs_Action/${id}\\|${id}\\]\\] — \\w+ · (.*)$`, 'm').exec(dash)?.[1]?.replace(/\[\[[^|\]]+\|([^\]]+)\]\]/g, '$1').replace(/\\/g, '');
    // `list` and `show`: the real CLI in another process, reading leases and recorded agent health
    // (run without blocking this process, whose service keeps renewing its leases meanwhile).
    const env = { VAULT_DIR: h.vault, WORKSPACE_ROOTS: h.root, ...cfg };
    const list = await runCliAsync(['list', '--json'], { cwd: h.root, env });
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { id: string; waitingOn: string; wait: { kind: string } | null }[];
    for (const id of ids) {
      const row = rows.find((r) => r.id === id)!;
      const show = await runCliAsync(['show', id], { cwd: h.root, env });
      expect(show.code, show.stderr).toBe(0);
      const shown = /^ {2}waiting +(.*)$/m.exec(show.stdout)?.[1];
      expect({ id, list: row.waitingOn, kind: row.wait?.kind, show: shown, dashboard: queueLine(id) }).toEqual({ id, list: executor[id], kind: expected[id], show: executor[id], dashboard: executor[id] });
    }
  }, 90_000);
});

describe('exact timers (default intervals)', () => {
  const defaults = { WATCHDOG_INTERVAL: '15s', EXECUTOR_INTERVAL: '30s', ORCHESTRATOR_INTERVAL: '60s' };

  it('`timeout: 3s` stops the run within 4 s of its start', async () => {
    h = createHarness({ ...defaults, AGENT: 'hang' });
    const starts = recordEvents(h.events, 'run:start');
    const stops = recordEvents(h.events, 'run:stop');
    await h.start();
    h.drop('deadline', 'type: claude_code\nstatus: planned\ntimeout: 3s\nmax_attempts: 1');
    await waitFor(() => h.status('deadline') === 'failed', 'timed out and failed', 20_000);
    const start = starts.list.find((e) => e.taskId === 'deadline')!;
    const stop = stops.list.find((e) => e.taskId === 'deadline')!;
    expect(stop.reason).toBe('timeout');
    expect(stop.at - start.at).toBeGreaterThan(2000);
    expect(stop.at - start.at).toBeLessThanOrEqual(4000);
  }, 30_000);

  it('a 2 s backoff retries within 3 s of the failure', async () => {
    h = createHarness({ ...defaults, AGENT: 'fail', RETRY_BACKOFF: '2s' });
    const starts = recordEvents(h.events, 'run:start');
    const ends = recordEvents(h.events, 'run:end');
    await h.start();
    h.drop('again', 'type: claude_code\nstatus: planned\nmax_attempts: 2');
    await waitFor(() => h.status('again') === 'failed', 'two attempts failed', 20_000);
    const firstEnd = ends.list.find((e) => e.taskId === 'again' && e.attempt === 1)!;
    const second = starts.list.find((e) => e.taskId === 'again' && e.attempt === 2)!;
    expect(second.at - firstEnd.at).toBeGreaterThanOrEqual(1400); // 2 s ±25 %
    expect(second.at - firstEnd.at).toBeLessThanOrEqual(3000);
  }, 30_000);
});

describe('agents as peers', () => {
  it('a command agent paused mid-run is resumed with VAULTRUNNER_RESUME_SESSION set to the session it reported', async () => {
    h = createHarness({ AGENT: 'session' }, { agentEnv: { FIXTURE_SLEEP_MS: '4000', FIXTURE_SESSION_ID: 'cmd-session-7' } });
    await h.start();
    const path = h.drop('resumable', 'type: claude_code\nstatus: planned');
    await waitFor(() => /^session_id: "?cmd-session-7"?$/m.test(h.read(path)), 'session recorded in the note');
    // The agent reports its session before it has read the prompt; pause only once it has said
    // what it resumed (what the first assertion below reads), not in between.
    const t1 = join(h.vault, 'Logs', 'runs', 'resumable', 'attempt-1.md');
    await waitFor(() => existsSync(t1) && readFileSync(t1, 'utf8').includes('resume none'), 'the first run reported its resume session');
    const ended = nextEvent(h.events, 'run:end', (e) => e.taskId === 'resumable');
    setStatus(path, 'paused');
    expect((await ended).stopReason).toBe('pause');
    setStatus(path, 'planned');
    await waitFor(() => h.find('resumable')?.folder === 'Done', 'resumed and done', 30_000);
    const transcript = (n: number) => readFileSync(join(h.vault, 'Logs', 'runs', 'resumable', `attempt-${n}.md`), 'utf8');
    expect(transcript(1)).toContain('resume none');
    expect(transcript(2)).toContain('resume cmd-session-7');
  }, 45_000);

  it("a paused task whose agent: is changed starts a new session with the new agent, not the old agent's", async () => {
    const agents = JSON.stringify({ session: fixtureAgent('session'), other: fixtureAgent('session') });
    h = createHarness({ AGENT: 'session', COMMAND_AGENTS: agents }, { agentEnv: { FIXTURE_SLEEP_MS: '4000', FIXTURE_SESSION_ID: 'cmd-session-7' } });
    await h.start();
    const path = h.drop('switched', 'type: claude_code\nstatus: planned');
    await waitFor(() => /^session_id: "?cmd-session-7"?$/m.test(h.read(path)), 'session recorded in the note');
    const t1 = join(h.vault, 'Logs', 'runs', 'switched', 'attempt-1.md');
    await waitFor(() => existsSync(t1) && readFileSync(t1, 'utf8').includes('resume none'), 'the first run reported its resume session');
    const ended = nextEvent(h.events, 'run:end', (e) => e.taskId === 'switched');
    setStatus(path, 'paused');
    expect((await ended).stopReason).toBe('pause');
    writeFileSync(path, h.read(path).replace(/^status: paused$/m, 'status: planned\nagent: other'));
    await waitFor(() => h.find('switched')?.folder === 'Done', 'done with the other agent', 30_000);
    const t2 = readFileSync(join(h.vault, 'Logs', 'runs', 'switched', 'attempt-2.md'), 'utf8');
    expect(t2).toContain('resume none');
    expect(t2).toContain("The task's agent changed from session to other: a new session");
  }, 45_000);

  it("a reviewed task retried, then switched to another agent with feedback, never follows up in the first agent's session", async () => {
    const agents = JSON.stringify({ session: fixtureAgent('session'), other: fixtureAgent('session') });
    h = createHarness({ AGENT: 'session', COMMAND_AGENTS: agents }, { agentEnv: { FIXTURE_SESSION_ID: 'cmd-session-7' } });
    await h.start();
    const path = h.drop('retried', 'type: claude_code\nstatus: planned\nrequires_review: true');
    await waitFor(() => h.status('retried') === 'in_review' && /^session_id: "?cmd-session-7"?$/m.test(h.read(path)), 'in review with its session');
    // With the service down, a person's retry starts a new cycle (the CLI's, run as a person would)…
    await h.stop();
    const r = await runCliAsync(['retry', 'retried'], { cwd: h.root, env: { VAULT_DIR: h.vault, WORKSPACE_ROOTS: h.root, COMMAND_AGENTS: agents, AGENT: 'session' } });
    expect(r.code, r.stderr).toBe(0);
    // …and gives it the other agent with feedback: a follow-up would take the note's session_id.
    writeFileSync(path, h.read(path).replace(/^type: claude_code$/m, 'type: claude_code\nagent: other') + '\n## Feedback\nAlso handle the empty case.\n');
    await h.start();
    await waitFor(() => h.status('retried') === 'in_review' && existsSync(join(h.vault, 'Logs', 'runs', 'retried', 'attempt-2.md')) && h.runs().filter((x) => x.task === 'retried').length === 2, 'the second run, in review again', 30_000);
    const t2 = readFileSync(join(h.vault, 'Logs', 'runs', 'retried', 'attempt-2.md'), 'utf8');
    expect(t2).toContain('resume none');
    expect(t2).toContain("The task's agent changed from session to other: a new session");
  }, 60_000);

  it('PLANNER=agent with MAX_CONCURRENT=1 and 5 new notes never runs two agent processes at once', async () => {
    h = createHarness({ PLANNER: 'agent', MAX_CONCURRENT: '1', AGENT: 'session' }, { agentEnv: { FIXTURE_SLEEP_MS: '200' } });
    const planners = recordEvents(h.events, 'run:start');
    await h.start();
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const id of ids) h.drop(id, 'type: claude_code', `Task ${id}.\n`);
    await waitFor(() => ids.every((id) => h.find(id)?.folder === 'Done'), 'all planned and done', 60_000, 100);
    const runs = h.runs();
    expect(runs.filter((r) => r.attempt === 0).map((r) => r.task).sort()).toEqual(ids); // one planner each
    expect(runs).toHaveLength(10);
    expect(concurrency(runs).peak).toBe(1);
    expect(planners.list.filter((e) => e.kind === 'plan')).toHaveLength(5);
    expect(readFileSync(join(h.vault, 'Plans', 'PLAN_p3.md'), 'utf8')).toMatch(/planner: agent[\s\S]*fixture done/);
  }, 90_000);
});

describe('links never leave the vault', () => {
  it('plan: "[[../../etc/passwd]]" (or ../, or a symlink out) never reaches a prompt; a plan inside does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vr-prompts-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    h = createHarness({}, { agentEnv: { FIXTURE_PROMPT_DIR: dir } });
    await initVault(h.vault, { examples: false });
    writeFileSync(join(h.root, 'secret.md'), '---\nx: 1\n---\nTOPSECRET-OUTSIDE\n');
    symlinkSync(join(h.root, 'secret.md'), join(h.vault, 'Plans', 'evil.md'));
    writeFileSync(join(h.vault, 'Plans', 'PLAN_good.md'), '---\nplanner: person\n---\nGOOD-PLAN-TEXT\n');
    h.drop('passwd', 'type: claude_code\nstatus: planned\nplan: "[[../../etc/passwd]]"');
    h.drop('dotdot', 'type: claude_code\nstatus: planned\nplan: "[[../secret]]"');
    h.drop('symlinked', 'type: claude_code\nstatus: planned\nplan: "[[evil]]"');
    h.drop('good', 'type: claude_code\nstatus: planned\nplan: "[[PLAN_good]]"');
    await h.start();
    const ids = ['passwd', 'dotdot', 'symlinked', 'good'];
    await waitFor(() => ids.every((id) => h.find(id)?.folder === 'Done'), 'all done', 30_000);
    const prompt = (id: string) => readFileSync(join(dir, `${id}-1.txt`), 'utf8');
    expect(prompt('good')).toContain('GOOD-PLAN-TEXT'); // the control: a plan inside the vault is read
    for (const id of ['passwd', 'dotdot', 'symlinked']) {
      expect(prompt(id)).not.toMatch(/TOPSECRET|root:x?:0:0/);
      expect(prompt(id)).not.toContain('## Plan');
      expect(readFileSync(join(h.vault, 'Logs', 'runs', id, 'attempt-1.md'), 'utf8')).toContain('Plan not included');
    }
  }, 45_000);
});
