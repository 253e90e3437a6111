// pause / resume / cancel / retry / approve: one frontmatter edit each, every other byte kept.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stateFileName } from '../../src/vault/state-key.js';
import { createCliVault, type CliVault } from '../helpers/cli-vault.js';

let v: CliVault;
beforeEach(() => {
  v = createCliVault();
});
afterEach(() => v.cleanup());

// Comments, quoting styles, flow lists, unknown keys, odd spacing and a body with links: all must survive.
const note = (status: string, extra = '') =>
  [
    '---',
    'type: claude_code',
    `status: ${status}   # set by the service`,
    "title: 'Fix the thing'",
    'priority:   high',
    'custom_key: [a, b]  # keep me',
    'attempts: 2',
    'error: "boom: it failed"',
    'plan: "[[PLAN_fix]]"',
    ...(extra ? [extra] : []),
    '---',
    'Body with [[links]] and trailing spaces   ',
    '',
    '## Acceptance criteria',
    '- [ ] works',
    '',
  ].join('\n');

function edit(cmd: string, name = 'fix') {
  return v.run([cmd, name]);
}

describe('task edits', () => {
  it('pause: only status changes; says the service stops a running agent', () => {
    const before = note('executing');
    v.write('Needs_Action/fix.md', before);
    const r = edit('pause');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^paused fix \(was executing\); the service is not running: it acts on this when it starts\n$/);
    expect(v.read('Needs_Action/fix.md')).toBe(before.replace('status: executing', 'status: paused'));
  });

  it('pause with the service running says it will stop the agent', () => {
    v.write('Needs_Action/fix.md', note('executing'));
    // A lock held by a live process on this host: this test process.
    v.write('.vaultrunner/service.lock', JSON.stringify({ owner: { host: hostname(), pid: process.pid }, startedAt: Date.now(), heartbeatAt: Date.now() }));
    const r = edit('pause');
    expect(r.stdout).toContain('paused fix (was executing); the service stops the running agent when it sees the edit');
  });

  it('resume: paused → planned when planned before, → new when never planned', () => {
    const before = note('paused');
    v.write('Needs_Action/fix.md', before);
    const r = edit('resume');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('resumed fix (was paused, now planned)');
    expect(v.read('Needs_Action/fix.md')).toBe(before.replace('status: paused', 'status: planned'));

    const unplanned = '---\ntype: x\nstatus: paused\n---\nbody\n';
    v.write('Needs_Action/fresh.md', unplanned);
    expect(edit('resume', 'fresh').stdout.trim()).toBe('resumed fresh (was paused, now new)');
    expect(v.read('Needs_Action/fresh.md')).toBe(unplanned.replace('status: paused', 'status: new'));
  });

  it('cancel: only status changes', () => {
    const before = note('planned');
    v.write('Needs_Action/fix.md', before);
    const r = edit('cancel');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('cancelled fix (was planned)');
    expect(v.read('Needs_Action/fix.md')).toBe(before.replace('status: planned', 'status: cancelled'));
  });

  it('retry: status planned, error line removed, attempts keep counting (a new cycle); nothing else', () => {
    const before = note('failed');
    v.write('Needs_Action/fix.md', before);
    const r = edit('retry');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('retrying fix (was failed, now planned); error cleared, attempts continue from 2 (max_attempts counts anew)');
    expect(v.read('Needs_Action/fix.md')).toBe(before.replace('status: failed', 'status: planned').replace('error: "boom: it failed"\n', ''));
    // max_attempts counts from attempt 2 on: the next attempt is number 3 (attempt-1/2 transcripts stay).
    expect(JSON.parse(v.read(`.vaultrunner/tasks/${stateFileName('fix')}`))).toEqual({ task: 'fix', cycleStart: 2 }); // the file names its task
  });

  it('every edit goes through the transition path and is logged `from → to (person)` when no service runs', () => {
    v.write('Needs_Action/fix.md', note('executing'));
    expect(edit('pause').code).toBe(0);
    expect(edit('resume').code).toBe(0);
    const logs = readdirSync(v.path('Logs')).filter((f) => f.endsWith('.jsonl')).flatMap((f) => v.read(`Logs/${f}`).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
    expect(logs.filter((l) => l.actor === 'person').map((l) => l.msg)).toEqual(['fix: executing → paused (person)', 'fix: paused → planned (person)']);
  });

  it('retry of a note in Done/ edits it, then moves it back to Needs_Action/', () => {
    const before = note('cancelled');
    v.write('Done/fix.md', before);
    const r = edit('retry');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('moved back to Needs_Action/fix.md');
    expect(existsSync(v.path('Done/fix.md'))).toBe(false);
    expect(v.read('Needs_Action/fix.md')).toBe(before.replace('status: cancelled', 'status: planned').replace('error: "boom: it failed"\n', ''));
  });

  it('approve: adds approved: true (or flips false), nothing else; CRLF notes keep CRLF', () => {
    const before = note('awaiting_approval');
    v.write('Pending_Approval/fix.md', before);
    const r = edit('approve');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('approved fix (was awaiting_approval); the service releases it to Needs_Action/');
    expect(v.read('Pending_Approval/fix.md')).toBe(before.replace('plan: "[[PLAN_fix]]"\n', 'plan: "[[PLAN_fix]]"\napproved: true\n'));

    const crlf = note('awaiting_approval', 'approved: false').replace(/\n/g, '\r\n');
    v.write('Pending_Approval/win.md', crlf);
    expect(edit('approve', 'win').code).toBe(0);
    expect(v.read('Pending_Approval/win.md')).toBe(crlf.replace('approved: false', 'approved: true'));
    const again = edit('approve', 'win');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already approved');
  });

  it('approve on a task that needs no approval says so, exit 0, and writes nothing', () => {
    const before = note('planned');
    v.write('Needs_Action/fix.md', before);
    const r = edit('approve');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('fix needs no approval: its type claude_code may run without one and it does not set requires_approval (status planned); nothing changed');
    expect(v.read('Needs_Action/fix.md')).toBe(before);
    // A type outside EXECUTOR_TYPES, or requires_approval, does need it: approving ahead is recorded.
    const gated = note('planned', 'requires_approval: true');
    v.write('Needs_Action/gated.md', gated);
    expect(edit('approve', 'gated').code).toBe(0);
    expect(v.read('Needs_Action/gated.md')).toBe(gated.replace('requires_approval: true\n', 'requires_approval: true\napproved: true\n'));
    const other = v.run(['approve', 'fix'], { env: { EXECUTOR_TYPES: 'claude_task' } });
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toMatch(/^approved fix \(was planned\)/);
    expect(v.read('Needs_Action/fix.md')).toBe(before.replace('plan: "[[PLAN_fix]]"\n', 'plan: "[[PLAN_fix]]"\napproved: true\n'));
  });

  it.each([
    ['approve', 'done', 'cannot approve fix: it is done; nothing is left to run'],
    ['approve', 'failed', "use 'vaultrunner retry'"],
    ['resume', 'planned', 'cannot resume fix: it is planned, not paused'],
    ['resume', 'failed', "cannot resume fix: it is failed, not paused; use 'vaultrunner retry'"],
    ['pause', 'paused', 'it is already paused'],
    ['pause', 'in_review', 'waits for your review'],
    ['cancel', 'cancelled', 'it is already cancelled'],
    ['retry', 'executing', 'it is running now; pause or cancel it first'],
  ])('%s refuses a task that is %s (exit 1, note untouched)', (cmd, status, message) => {
    const before = note(status);
    v.write('Needs_Action/fix.md', before);
    const r = edit(cmd);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(v.read('Needs_Action/fix.md')).toBe(before);
    // A refused approve leaves no approval on record either (it is recorded before the note's edit).
    expect(existsSync(v.path(`.vaultrunner/tasks/${stateFileName('fix')}`))).toBe(false);
  });

  it('refuses edits other than retry on notes in Done/', () => {
    v.write('Done/fix.md', note('done'));
    const r = edit('pause');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('filed in Done/');
  });

  it('unknown task: exit 1 with a clear message', () => {
    for (const cmd of ['pause', 'resume', 'cancel', 'retry', 'approve', 'show']) {
      const r = v.run([cmd, 'nope']);
      expect(r.code, cmd).toBe(1);
      expect(r.stderr.trim()).toBe(`vaultrunner: no task named "nope" in Needs_Action/, Pending_Approval/ or Done/; see 'vaultrunner list --all'`);
    }
  });

  it('never rewrites a note it cannot parse', () => {
    const bad = '---\ntype: x\nstatus: [oops\n---\nbody\n';
    const p = v.write('Needs_Action/bad.md', bad);
    const r = v.run(['cancel', 'bad']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('YAML');
    expect(readFileSync(p, 'utf8')).toBe(bad);
  });

  it('accepts [[links]] and .md names, and case-insensitive unique names', () => {
    v.write('Needs_Action/Fix Login.md', note('planned'));
    expect(v.run(['pause', '[[Fix Login]]']).code).toBe(0);
    expect(v.run(['resume', 'Needs_Action/Fix Login.md']).code).toBe(0);
    expect(v.run(['cancel', 'fix login']).stdout).toContain('cancelled Fix Login (was planned)');
  });
});
