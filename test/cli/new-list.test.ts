// `new` and `list` through the real CLI.
import { existsSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliVault, type CliVault } from '../helpers/cli-vault.js';
import { approvalFingerprint } from '../../src/engine/approval.js';
import { TEMPLATE_PLACEHOLDER } from '../../src/domain/readiness.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { unsafeTitleReason } from '../../src/vault/new-note.js';
import { stateFileName } from '../../src/vault/state-key.js';

let v: CliVault;
beforeEach(() => {
  v = createCliVault();
});
afterEach(() => v.cleanup());

interface Row {
  id: string;
  status: string;
  type: string | null;
  priority: string;
  folder: string;
  waitingOn: string | null;
  dependencies: string[];
  problem: string | null;
  notBefore: number | null;
}

const listJson = (args: string[] = []): Row[] => {
  const r = v.run(['list', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Row[];
};

describe('vaultrunner new', () => {
  it('creates Needs_Action/<title>.md in Obsidian formats and prints its path; list --json shows it', () => {
    v.task('Upgrade router', 'type: claude_code\nstatus: done', '', 'Done');
    const r = v.run(['new', 'Fix login', '--type', 'claude_code', '--priority', 'high', '--blocked-by', 'Upgrade router', '--blocked-by', '[[Other thing]]', '--dir', 'work/app', '--agent', 'claude', '--body', 'Fix the redirect.\n\n- [ ] test it']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join('vault', 'Needs_Action', 'Fix login.md'));
    expect(r.stderr).toContain('Other thing'); // warned: no such task yet
    const text = v.read('Needs_Action/Fix login.md');
    expect(text).toMatch(
      new RegExp(
        [
          '^---',
          'type: claude_code',
          'status: new',
          'title: "Fix login"',
          'priority: high',
          'blocked_by:',
          '  - "\\[\\[Upgrade router\\]\\]"',
          '  - "\\[\\[Other thing\\]\\]"',
          `working_dir: ${join(v.root, 'work', 'app').replace(/[/.]/g, '\\$&')}`,
          'agent: claude',
          'created: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d',
          '---',
          'Fix the redirect.',
          '',
          '- \\[ \\] test it\\n$',
        ].join('\\n'),
      ),
    );
    const rows = listJson();
    const row = rows.find((x) => x.id === 'Fix login')!;
    expect(row).toMatchObject({ status: 'new', type: 'claude_code', priority: 'high', folder: 'Needs_Action', problem: null });
  });

  it('reads the body from stdin when --body is not given', () => {
    const r = v.run(['new', 'From stdin', '--type', 'claude_task'], { input: 'Line one\nLine two\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(v.read('Needs_Action/From stdin.md')).toMatch(/\n---\nLine one\nLine two\n$/);
  });

  it('refuses unsafe titles with exit 2 and writes nothing', async () => {
    const bad = ['a/b', 'a\\b', '..', '../x', 'a..b', 'tab\there', 'nl\nhere', '.hidden', 'a:b', 'a*b', 'a?b', 'a"b', 'a<b', 'a>b', 'a|b', 'a#b', 'a^b', 'a[b', 'a]b', 'x'.repeat(121), ' ', 'trailing.', 'CON'];
    const results = await Promise.all(bad.map((t) => v.runAsync(['new', t, '--type', 'x'])));
    results.forEach((r, i) => {
      expect(r.code, `title ${JSON.stringify(bad[i])}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('cannot use');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
    // The empty title is refused too (as the parser sees it, an empty positional).
    const empty = v.run(['new', '', '--type', 'x']);
    expect(empty.code).toBe(2);
    expect(readdirSync(v.path('Needs_Action'))).toEqual([]);
    expect(existsSync(join(v.vault, 'b.md'))).toBe(false);
  });

  it('accepts a 120-character title and unicode; refuses more than 200 bytes', () => {
    expect(v.run(['new', 'x'.repeat(120), '--type', 'x']).code).toBe(0);
    expect(v.run(['new', 'é'.repeat(100), '--type', 'x']).code).toBe(0);
    const tooBig = v.run(['new', 'é'.repeat(101), '--type', 'x']);
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('longer than 200 bytes');
    expect(unsafeTitleReason('Fix (conflict 2024-01-01)')).toMatch(/sync conflict copy/);
    expect(unsafeTitleReason('Resolve (conflict markers) in parser')).toBeUndefined();
    expect(v.run(['new', 'Ünïcödé — tâche №1 (draft), v2', '--type', 'x']).code).toBe(0);
  });

  it.each(['Needs_Action', 'Pending_Approval', 'Done'])('refuses a name taken in %s (exit 1), never overwriting', (folder) => {
    const p = v.task('Taken', 'type: x\nstatus: new', 'original\n', folder);
    const r = v.run(['new', 'taken', '--type', 'y', '--body', 'new body']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already exists');
    expect(v.read(`${folder}/Taken.md`)).toBe('---\ntype: x\nstatus: new\n---\noriginal\n');
    expect(existsSync(p)).toBe(true);
    expect(readdirSync(v.path('Needs_Action')).filter((n) => n.toLowerCase() === 'taken.md')).toHaveLength(folder === 'Needs_Action' ? 1 : 0);
  });
});

describe('vaultrunner list', () => {
  it('says what each task waits on, and lists invalid and unreadable notes with their problem', () => {
    v.task('dep', 'type: claude_code\nstatus: planned\nplan: "[[PLAN_dep]]"');
    v.task('waiter', 'type: claude_code\nstatus: planned\nblocked_by:\n  - "[[dep]]"');
    v.task('orphan', 'type: claude_code\nstatus: planned\nblocked_by: ghost');
    v.task('retrying', 'type: claude_code\nstatus: planned\nattempts: 1');
    v.task('fresh', 'type: claude_code');
    v.task('held', 'type: claude_code\nstatus: paused');
    v.task('risky', 'type: shell_script\nstatus: awaiting_approval', 'x\n', 'Pending_Approval');
    v.task('looking', 'type: claude_code\nstatus: in_review');
    v.task('broke', 'type: claude_code\nstatus: failed\nerror: "agent exploded"');
    v.task('notype', 'status: new\npriority: high');
    v.write('Needs_Action/garbage.md', '---\ntype: [unclosed\n---\n');
    v.task('old', 'type: claude_code\nstatus: done', '', 'Done');
    const notBefore = Date.now() + 3_600_000;
    mkdirSync(v.path('.vaultrunner/tasks'), { recursive: true });
    writeFileSync(v.path('.vaultrunner/tasks/retrying.json'), JSON.stringify({ notBefore, failures: 1 }));

    const rows = listJson();
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(Object.keys(by).sort()).toEqual(['broke', 'dep', 'fresh', 'garbage', 'held', 'looking', 'notype', 'orphan', 'retrying', 'risky', 'waiter']);
    expect(by.dep).toMatchObject({ status: 'planned', waitingOn: 'queued', problem: null });
    expect(by.waiter).toMatchObject({ waitingOn: 'blocked by dep', dependencies: ['dep'] });
    expect(by.orphan!.problem).toContain('ghost');
    expect(by.retrying).toMatchObject({ notBefore });
    expect(by.retrying!.waitingOn).toMatch(/^backoff until \d\d:\d\d:\d\d$/);
    expect(by.fresh).toMatchObject({ status: 'new', waitingOn: 'planning' });
    expect(by.held).toMatchObject({ status: 'paused', waitingOn: 'paused' });
    expect(by.risky).toMatchObject({ status: 'awaiting_approval', folder: 'Pending_Approval', waitingOn: 'approval' });
    expect(by.looking).toMatchObject({ waitingOn: 'review' });
    expect(by.broke).toMatchObject({ status: 'failed', waitingOn: null });
    expect(by.notype!.problem).toMatch(/^invalid: type: missing/);
    expect(by.garbage!.problem).toMatch(/^unreadable: /);

    const text = v.run(['list']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+TYPE\s+PRIORITY\s+AGE\s+FOLDER\s+WAITING ON$/);
    expect(lines).toHaveLength(12);
    expect(lines.find((l) => l.startsWith('waiter '))).toMatch(/planned\s+claude_code\s+medium\s+\S+\s+Needs_Action\s+blocked by dep$/);
    expect(lines.find((l) => l.startsWith('garbage '))).toContain('⚠ unreadable');
    expect(lines.find((l) => l.startsWith('broke '))).toContain('✗ agent exploded');
  });

  it('--status filters, --all adds Done/', () => {
    v.task('a', 'type: x\nstatus: paused');
    v.task('b', 'type: x\nstatus: planned');
    v.task('c', 'type: x\nstatus: done', '', 'Done');
    expect(listJson(['--status', 'paused']).map((r) => r.id)).toEqual(['a']);
    expect(listJson().map((r) => r.id).sort()).toEqual(['a', 'b']);
    const all = listJson(['--all']);
    expect(all.map((r) => r.id).sort()).toEqual(['a', 'b', 'c']);
    expect(all.find((r) => r.id === 'c')).toMatchObject({ folder: 'Done', status: 'done' });
  });

  it('an empty vault says so', () => {
    const r = v.run(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('no tasks');
    expect(listJson()).toEqual([]);
  });
});

describe('list reads what readiness reads, for every note', () => {
  // list keeps no text, frontmatter data or body of a valid task it does not need (a lean scan):
  // every fact that depends on them must still come out as the service would judge it.
  it('a planning give-up on this very text, an approval for this very content, a placeholder body, long values', () => {
    const state = (id: string, s: Record<string, unknown>) => {
      mkdirSync(v.path('.vaultrunner/tasks'), { recursive: true });
      writeFileSync(v.path(`.vaultrunner/tasks/${stateFileName(id)}`), JSON.stringify({ task: id, ...s }));
    };
    const read = (rel: string) => {
      const r = new NoteStore().readSync(v.path(rel));
      if (!r.ok) throw new Error(`unreadable ${rel}`);
      return { hash: r.note.hash, body: r.body };
    };
    v.task('gave up', 'type: claude_code\nerror: "planner said no"');
    state('gave up', { planGaveUp: read('Needs_Action/gave up.md').hash });
    v.task('edited since', 'type: claude_code');
    state('edited since', { planGaveUp: 'an older text' });
    v.task('risky ok', 'type: shell_script\nstatus: awaiting_approval\napproved: true', 'rm the cache\n', 'Pending_Approval');
    state('risky ok', { approvalAsked: approvalFingerprint({ type: 'shell_script' }, read('Pending_Approval/risky ok.md').body) });
    v.task('risky run', 'type: shell_script\nstatus: planned\napproved: true', 'rm the cache\n');
    state('risky run', { approvedFor: approvalFingerprint({ type: 'shell_script' }, read('Needs_Action/risky run.md').body) });
    v.task('risky edited', 'type: shell_script\nstatus: planned\napproved: true', 'rm everything\n');
    state('risky edited', { approvedFor: approvalFingerprint({ type: 'shell_script' }, 'rm the cache\n') });
    v.task('still a draft', 'type: claude_code\nstatus: planned', `## Task\n\n${TEMPLATE_PLACEHOLDER}\n`);
    v.task('long values', 'type: claude_code\ntitle: "A title longer than thirteen characters"\ncreated: 2026-01-02T03:04\nstatus: failed\nerror: "an error message longer than thirteen"');

    const by = Object.fromEntries(listJson().map((r) => [r.id, r as Row & { title: string | null; error: string | null; ageMs: number }]));
    expect(by['gave up']!.problem).toBe('planning failed: planner said no; edit the note to try again');
    expect(by['edited since']).toMatchObject({ waitingOn: 'planning', problem: null });
    expect(by['risky ok']).toMatchObject({ status: 'awaiting_approval', waitingOn: 'queued' });
    expect(by['risky run']).toMatchObject({ status: 'planned', waitingOn: 'queued' });
    expect(by['risky edited']).toMatchObject({ status: 'planned', waitingOn: 'approval' });
    expect(by['still a draft']).toMatchObject({ waitingOn: 'draft (body is the template placeholder)' });
    expect(by['long values']).toMatchObject({ title: 'A title longer than thirteen characters', error: 'an error message longer than thirteen', status: 'failed' });
    // Aged from its `created`, not from the file (made a moment ago).
    expect(Math.abs(by['long values']!.ageMs - (Date.now() - new Date(2026, 0, 2, 3, 4).getTime()))).toBeLessThan(60_000);
  });
});
