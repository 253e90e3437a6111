// `vaultrunner list | head`: a reader that goes away is not an error. Every command, run with a
// stdout that is closed before (or while) it writes, exits as it would otherwise, without a trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliVault } from '../helpers/cli-vault.js';

const v = createCliVault();
afterAll(() => v.cleanup());
beforeAll(() => {
  v.task('fix-login', 'type: claude_code\nstatus: planned', 'Fix the redirect.\n');
  v.write('Logs/vaultrunner-h-2026-11-21.jsonl', `${JSON.stringify({ level: 30, time: 1, msg: 'hello', component: 'service' })}\n`);
});

const COMMANDS: string[][] = [
  ['--help'],
  ['--version'],
  ['list'],
  ['list', '--json'],
  ['show', 'fix-login'],
  ['logs'],
  ['doctor'],
  ['new', 'Another task', '--type', 'claude_code', '--body', 'x'],
  ['init', 'other-vault'],
  ['pause', 'fix-login'],
];

describe('a closed stdout', () => {
  it.each(COMMANDS.map((c) => [c.join(' '), c] as const))('%s: same exit code as with a reader, nothing on stderr about it', async (_, args) => {
    const r = await v.runClosedStdout(args);
    expect(r.stderr).not.toMatch(/EPIPE|Error|unexpected/);
    const expected = args[0] === 'doctor' ? 1 : 0; // doctor: no credentials in the test env
    expect(r.code, r.stderr).toBe(expected);
  });

  // --json: enough bytes (~450 kB) to overflow the socket buffer between us and head.
  it('list --json | head -n 1 on a long list: head leaves after one line, list exits 0 quietly', async () => {
    for (let i = 0; i < 1500; i++) v.task(`task number ${String(i).padStart(4, '0')} with a long enough name`, 'type: claude_code', '');
    const r = await v.runClosedStdout(['list', '--json'], { head: 1 });
    expect(r.stdout).toBe('[\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
