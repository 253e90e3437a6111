// `vaultrunner new`: the flags for due, model, timeout, review and approval (checked like the
// note's keys), and --dir refused up front when it lies outside WORKSPACE_ROOTS.
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliVault, type CliVault } from '../helpers/cli-vault.js';

let v: CliVault;
beforeEach(() => {
  v = createCliVault();
});
afterEach(() => v.cleanup());

const frontmatter = (text: string) => text.split('---\n')[1]!;

describe('vaultrunner new: task keys as flags', () => {
  it('writes due, model, timeout, requires_review and requires_approval; the task is valid', async () => {
    const r = v.run(['new', 'Ship it', '--type', 'claude_code', '--due', '2026-12-24', '--model', 'claude-sonnet-4-5', '--timeout', '20m', '--requires-review', '--requires-approval', '--body', 'Ship.']);
    expect(r.code, r.stderr).toBe(0);
    const fm = frontmatter(v.read('Needs_Action/Ship it.md'));
    expect(fm).toMatch(/\nmodel: claude-sonnet-4-5\ndue: 2026-12-24\ntimeout: 20m\nrequires_review: true\nrequires_approval: true\ncreated: /);
    const list = await v.runAsync(['list', '--json']);
    const row = (JSON.parse(list.stdout) as { id: string; problem: string | null }[]).find((x) => x.id === 'Ship it');
    expect(row?.problem).toBeNull();
    const plain = v.run(['new', 'Plain', '--type', 'claude_code']);
    expect(plain.code).toBe(0);
    expect(frontmatter(v.read('Needs_Action/Plain.md'))).not.toMatch(/due|model|timeout|requires_/);
  });

  it('refuses values the note schema would refuse: exit 2, one line, nothing written', async () => {
    const cases: [string[], string][] = [
      [['--due', 'tomorrow'], '--due "tomorrow" is not allowed; use a date YYYY-MM-DD'],
      [['--due', '24.12.2026'], '--due "24.12.2026" is not allowed'],
      [['--timeout', 'forever'], '--timeout "forever" is not allowed; use a duration like 30s, 10m or 1h'],
      [['--timeout', '0s'], '--timeout "0s" is not allowed'],
      [['--model', ' '], '--model is empty'],
    ];
    const results = await Promise.all(cases.map(([flags]) => v.runAsync(['new', 'Bad', '--type', 'claude_code', ...flags])));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain(cases[i]![1]);
    });
    expect(readdirSync(v.path('Needs_Action'))).toEqual([]);
  });
});

describe('vaultrunner new --dir', () => {
  it('refuses a dir outside WORKSPACE_ROOTS up front (exit 2, WORKSPACE_DENIED named), writing nothing', async () => {
    const outside = tmpdir();
    mkdirSync(join(v.work, 'api'));
    symlinkSync(outside, join(v.work, 'escape'));
    const [out, viaLink, viaDots, noRoots] = await Promise.all([
      v.runAsync(['new', 'A', '--type', 'claude_code', '--dir', outside]),
      v.runAsync(['new', 'B', '--type', 'claude_code', '--dir', join(v.work, 'escape', 'x')]),
      v.runAsync(['new', 'C', '--type', 'claude_code', '--dir', join(v.work, 'api', '..', '..')]),
      v.runAsync(['new', 'D', '--type', 'claude_code', '--dir', join(v.work, 'api')], { env: { WORKSPACE_ROOTS: '' } }),
    ]);
    for (const r of [out, viaLink, viaDots]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^vaultrunner: --dir .* is outside WORKSPACE_ROOTS \(.*\); the task would fail with WORKSPACE_DENIED/);
    }
    expect(noRoots.code).toBe(2);
    expect(noRoots.stderr).toContain('WORKSPACE_ROOTS is empty');
    expect(readdirSync(v.path('Needs_Action'))).toEqual([]);
  });

  it('accepts a dir inside a root; one that does not exist yet is written with a warning', async () => {
    mkdirSync(join(v.work, 'api'));
    const [inside, later] = await Promise.all([
      v.runAsync(['new', 'Inside', '--type', 'claude_code', '--dir', 'work/api']),
      v.runAsync(['new', 'Later', '--type', 'claude_code', '--dir', join(v.work, 'not-yet')]),
    ]);
    expect(inside.code, inside.stderr).toBe(0);
    expect(inside.stderr).toBe('');
    expect(v.read('Needs_Action/Inside.md')).toContain(`working_dir: ${join(v.work, 'api')}\n`);
    expect(later.code).toBe(0);
    expect(later.stderr).toContain('is not an existing directory yet');
  });
});
