// The one link reader: every spelling of a link, and every way out of the vault refused.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linkName, parseLink } from '../../src/domain/links.js';
import { validateTask } from '../../src/domain/task.js';
import { vaultPaths } from '../../src/vault/layout.js';
import { resolveNoteLink } from '../../src/vault/links.js';

describe('parseLink', () => {
  it.each([
    ['[[Note]]', 'Note', false],
    ['[[Folder/Note|alias]]', 'Folder/Note', true],
    ['[[Note#heading]]', 'Note', false],
    ['Plans/PLAN_x.md', 'Plans/PLAN_x', true],
    ['  plain  ', 'plain', false],
  ])('%s → %s', (raw, target, hasFolder) => {
    expect(parseLink(raw)).toMatchObject({ ok: true, target, hasFolder });
  });

  it.each(['[[../../etc/passwd]]', '../x', 'a/../../b', '/etc/passwd', '[[/etc/passwd]]', 'C:/x', 'a\\b', './x', 'a//b', '', '[[]]', 'x\0y'])('refuses %j', (raw) => {
    expect(parseLink(raw).ok).toBe(false);
    expect(linkName(raw)).toBe('');
  });

  it('a blocked_by that leaves the vault is an invalid task, not a silently dropped dependency', () => {
    const v = validateTask('t', { type: 'x', blocked_by: ['ok', '[[../../etc/passwd]]'] });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.map((p) => p.key)).toEqual(['blocked_by']);
    const fine = validateTask('t', { type: 'x', blocked_by: ['[[Done/ok|the ok one]]', ''] });
    expect(fine.ok && fine.task.blockedBy).toEqual(['ok']);
  });
});

describe('resolveNoteLink (the vault side)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vr-links-'));
  const vault = join(root, 'vault');
  const paths = vaultPaths(vault);
  mkdirSync(join(vault, 'Plans'), { recursive: true });
  writeFileSync(join(vault, 'Plans', 'PLAN_a.md'), '# plan\n');
  writeFileSync(join(vault, 'Top.md'), '# top\n');
  writeFileSync(join(root, 'secret.md'), 'secret\n');
  symlinkSync(join(root, 'secret.md'), join(vault, 'Plans', 'evil.md'));
  symlinkSync(root, join(vault, 'outside'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    ['[[PLAN_a]]', 'Plans/PLAN_a.md'],
    ['[[Plans/PLAN_a|plan]]', 'Plans/PLAN_a.md'],
    ['[[Top]]', 'Top.md'],
  ])('%s → %s', async (raw, rel) => {
    expect(await resolveNoteLink(paths, raw, paths.plans)).toEqual({ ok: true, path: join(vault, rel) });
  });

  it.each(['[[../secret]]', '[[evil]]', '[[Plans/evil]]', '[[outside/secret]]', '[[nope]]', 42])('refuses %j', async (raw) => {
    expect((await resolveNoteLink(paths, raw, paths.plans)).ok).toBe(false);
  });
});
