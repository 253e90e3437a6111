// The template planner plans from the note's own words: its first paragraph in full, its headings
// (with their list items) as steps, its acceptance checkboxes as criteria.
import { describe, expect, it } from 'vitest';
import { validateTask, type Task } from '../../src/lifecycle/task.js';
import { templatePlan } from '../../src/orchestrator/template-planner.js';

function task(data: Record<string, unknown> = {}): Task {
  const v = validateTask('fix-login', { type: 'claude_code', title: 'Fix the login redirect', ...data });
  if (!v.ok) throw new Error('bad fixture');
  return v.task;
}
const plan = (body: string, data?: Record<string, unknown>) => templatePlan({ task: task(data), body, cwd: '/tmp' });
const section = (text: string, name: string) => text.split(`## ${name}\n\n`)[1]!.split('\n\n')[0]!;

describe('template planner', () => {
  it('quotes the whole first paragraph, however long, never cut mid-sentence', () => {
    const para = [
      'The login page sends people to / instead of the page they came from, which loses their place in long forms;',
      'keep the original URL in the session (not in a query string, which leaks into logs) and redirect there after',
      'a successful login. This has bitten the support team three times this month.',
    ];
    const out = plan(`${para.join('\n')}\n\nA second paragraph that is not the summary.\n`);
    expect(out).toContain(para.map((l) => `> ${l}`).join('\n'));
    expect(out).not.toContain('second paragraph');
  });

  it("turns the note's own headings and their list items into the steps, in order", () => {
    const out = plan(
      [
        'Make the redirect keep the original page.',
        '',
        '## Find where the redirect happens',
        '',
        '- look in `src/auth/login.ts`',
        '- and in the middleware',
        '  - especially `requireUser()`',
        '',
        '## Store the return URL in the session',
        '',
        '```sh',
        '# not a heading: a comment in a code block',
        '- not an item either',
        '```',
        '',
        '## Acceptance criteria',
        '',
        '- [ ] after login you land where you started',
        '- [x] existing tests pass',
        '',
      ].join('\n'),
    );
    expect(section(out, 'Steps')).toBe(
      [
        '1. Find where the redirect happens',
        '   - look in `src/auth/login.ts`',
        '   - and in the middleware',
        '     - especially `requireUser()`',
        '2. Store the return URL in the session',
      ].join('\n'),
    );
    expect(section(out, 'Acceptance criteria')).toBe('- [ ] after login you land where you started\n- [ ] existing tests pass');
    expect(out).not.toContain('Make the change');
    expect(out).not.toContain('not a heading');
  });

  it('uses a note without headings: its list items are the steps, its checkboxes the criteria', () => {
    const out = plan('Bump the dependencies.\n\n1. run npm outdated\n2. update the minor versions,\n   one commit each\n\n- [ ] npm test passes\n');
    expect(section(out, 'Steps')).toBe('1. run npm outdated\n2. update the minor versions, one commit each');
    expect(section(out, 'Acceptance criteria')).toBe('- [ ] npm test passes');
  });

  it('skips a leading title heading and keeps checkboxes outside the criteria section as steps', () => {
    const out = plan('# Fix the login redirect\n\nSay hello.\n\n## Do it\n\n- [ ] first this\n\n## Done when\n\n- [ ] RESULT.md exists\n');
    expect(out).toContain('> Say hello.\n');
    expect(section(out, 'Steps')).toBe('1. Do it\n   - [ ] first this');
    expect(section(out, 'Acceptance criteria')).toBe('- [ ] RESULT.md exists');
  });

  it('falls back to generic steps only for a note with no structure of its own', () => {
    const out = plan('Write a haiku about task queues.\n');
    expect(out).toContain('> Write a haiku about task queues.');
    expect(out).toContain('1. Read the task and the code it concerns.');
    expect(out).toContain('- [ ] The task as described is done.');
  });

  it('lists the context: type, priority, due, working dir, dependencies', () => {
    const out = plan('x\n', { priority: 'high', due: '2026-12-24', working_dir: '/src/api', blocked_by: ['[[Bump]]'] });
    expect(section(out, 'Context')).toBe('- Type: claude_code\n- Priority: high\n- Due: 2026-12-24\n- Working dir: `/src/api`\n- After: [[Bump]]\n');
  });
});
