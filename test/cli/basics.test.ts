// Bad input to the real CLI: unknown command, bad flags, missing arguments (exit 2, one line),
// and `--help` for every command (exit 0, shows its usage).
import { afterAll, describe, expect, it } from 'vitest';
import { createCliVault } from '../helpers/cli-vault.js';

const v = createCliVault();
afterAll(() => v.cleanup());

const USAGE: Record<string, string> = {
  init: 'init [dir]',
  start: 'start',
  new: 'new "<title>" --type <type>',
  list: 'list [--status <status>]',
  show: 'show <task>',
  pause: 'pause <task>',
  resume: 'resume <task>',
  cancel: 'cancel <task>',
  retry: 'retry <task>',
  approve: 'approve <task>',
  logs: 'logs [-f]',
  doctor: 'doctor',
  'web-url': 'web-url',
  demo: 'demo [dir] [--reset]',
};

const oneLine = (s: string) => s.trim().split('\n').length === 1;

describe('CLI basics', () => {
  it('lists every command in the main help', () => {
    const r = v.run(['--help']);
    expect(r.code).toBe(0);
    for (const name of Object.keys(USAGE)) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('unknown command: exit 2 and one line', () => {
    const r = v.run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it.each(Object.entries(USAGE))('%s --help exits 0 and shows its usage', async (name, usage) => {
    const r = await v.runAsync([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: vaultrunner ${usage}`);
    expect(r.stderr).toBe('');
  });

  it('bad flags: exit 2 and one line, for each command', async () => {
    const cases = [
      ['new', 'T', '--type', 'x', '--bogus'],
      ['list', '--nope'],
      ['show', 'x', '--frob'],
      ['pause', 'x', '--all'],
      ['logs', '--tail'],
      ['doctor', '--fix'],
      ['list', '--status'], // missing value
    ];
    const results = await Promise.all(cases.map((c) => v.runAsync(c)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]!.join(' ')).toBe(2);
      expect(oneLine(r.stderr), r.stderr).toBe(true);
    });
  });

  it('missing or extra arguments: exit 2 with the usage', async () => {
    const cases = [['new'], ['show'], ['pause'], ['resume'], ['cancel'], ['retry'], ['approve'], ['show', 'a', 'b'], ['list', 'extra']];
    const results = await Promise.all(cases.map((c) => v.runAsync(c)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]!.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^vaultrunner: usage: vaultrunner \S+/);
      expect(oneLine(r.stderr)).toBe(true);
    });
  });

  it('bad flag values: exit 2 and one line', async () => {
    const cases = [
      ['new', 'T'], // no --type
      ['new', 'T', '--type', 'x', '--priority', 'asap'],
      ['list', '--status', 'sleeping'],
      ['logs', '--level', 'loud'],
      ['logs', '--lines', 'many'],
      ['show', 'x', '--lines', '-3'],
    ];
    const results = await Promise.all(cases.map((c) => v.runAsync(c)));
    results.forEach((r, i) => {
      expect(r.code, `${cases[i]!.join(' ')}: ${r.stderr}`).toBe(2);
      expect(oneLine(r.stderr), r.stderr).toBe(true);
    });
  });

  it('an invalid config is exit 2 for ordinary commands', () => {
    const r = v.run(['list'], { env: { MAX_CONCURRENT: 'lots' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MAX_CONCURRENT');
  });

  it('a missing vault is a clear error (exit 1)', () => {
    const r = v.run(['list', '--vault', v.path('nowhere')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no vault at');
    expect(r.stderr).toContain('vaultrunner init');
  });
});
