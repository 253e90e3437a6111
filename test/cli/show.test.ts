// `show <task>`: properties, instructions, plan body and the tail of the latest transcript.
import { afterAll, describe, expect, it } from 'vitest';
import { createCliVault } from '../helpers/cli-vault.js';

const v = createCliVault();
afterAll(() => v.cleanup());

describe('vaultrunner show', () => {
  it('prints properties, the plan and the last 40 lines of the run_log transcript', () => {
    v.task(
      'fix-login',
      [
        'type: claude_code',
        'status: failed',
        'title: Fix the login redirect',
        'priority: high',
        'attempts: 2',
        'started_at: 2026-01-02T10:00:00',
        'finished_at: 2026-01-02T10:05:00',
        'error: "agent exploded: exit 1"',
        'plan: "[[PLAN_fix-login]]"',
        'run_log: "[[Logs/runs/fix-login/attempt-2]]"',
      ].join('\n'),
      'The login page sends people to the wrong place.\n',
    );
    v.write('Plans/PLAN_fix-login.md', '---\ntask: "[[fix-login]]"\nplanner: template\n---\n\n# Plan: Fix the login redirect\n\n1. Find the redirect.\n');
    v.write('Logs/runs/fix-login/attempt-1.md', 'OLD ATTEMPT\n');
    v.write('Logs/runs/fix-login/attempt-2.md', Array.from({ length: 100 }, (_, i) => `transcript line ${i + 1}`).join('\n') + '\n');
    const r = v.run(['show', 'fix-login']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^fix-login {2}\(Needs_Action\/fix-login\.md\)\n/);
    expect(out).toMatch(/ {2}status +failed\n/);
    expect(out).toMatch(/ {2}attempts +2\n/);
    expect(out).toMatch(/ {2}started_at +2026-01-02T10:00:00\n/);
    expect(out).toMatch(/ {2}finished_at +2026-01-02T10:05:00\n/);
    expect(out).toMatch(/ {2}error +agent exploded: exit 1\n/);
    expect(out).toContain('The login page sends people to the wrong place.');
    expect(out).toContain('── Plan: Plans/PLAN_fix-login.md ──\n# Plan: Fix the login redirect\n\n1. Find the redirect.\n');
    expect(out).toContain('── Transcript: Logs/runs/fix-login/attempt-2.md (last 40 lines) ──\ntranscript line 61\n');
    expect(out).toMatch(/transcript line 100\n$/);
    expect(out).not.toContain('transcript line 60\n');
    expect(out).not.toContain('OLD ATTEMPT');
  });

  it('falls back to the latest attempt when run_log is missing; --lines limits the tail', () => {
    v.task('other', 'type: x\nstatus: executing', '', 'Needs_Action');
    v.write('Logs/runs/other/attempt-1.md', 'one\n');
    v.write('Logs/runs/other/attempt-3.md', 'a\nb\nc\nd\n');
    const r = v.run(['show', '[[other]]', '--lines', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('── Transcript: Logs/runs/other/attempt-3.md (last 2 lines) ──\nc\nd\n');
    expect(r.stdout).toContain('(not planned yet)');
  });

  it('shows a note in Done/, and an unreadable note with its problem', () => {
    v.task('finished', 'type: x\nstatus: done', 'All good.\n', 'Done');
    expect(v.run(['show', 'finished']).stdout).toContain('(Done/finished.md)');
    v.write('Needs_Action/broken.md', '---\ntype: [oops\n---\n');
    const r = v.run(['show', 'broken']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('problem      unreadable:');
  });

  it('does not read a run_log that points outside the vault', () => {
    v.task('sneaky', 'type: x\nrun_log: "[[../../../../etc/hostname]]"');
    const r = v.run(['show', 'sneaky']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(no run yet)');
  });

  it('unknown task: exit 1', () => {
    const r = v.run(['show', 'missing']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no task named "missing"');
  });
});
