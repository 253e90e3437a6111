import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyPath, isIgnoredForWatch, shouldDescend, type PathClass } from '../../src/vault/ignore-rules.js';

const root = join('/vaults', 'my vault');
const at = (rel: string) => join(root, ...rel.split('/'));

describe('classifyPath', () => {
  const cases: Array<[string, PathClass]> = [
    // task notes: *.md directly in one of the four task folders
    ['Needs_Action/fix-login.md', { kind: 'task-note', folder: 'Needs_Action' }],
    ['Plans/fix-login.md', { kind: 'task-note', folder: 'Plans' }],
    ['Done/fix-login.md', { kind: 'task-note', folder: 'Done' }],
    ['Pending_Approval/deploy prod.md', { kind: 'task-note', folder: 'Pending_Approval' }],
    ['Needs_Action/UPPER.MD', { kind: 'task-note', folder: 'Needs_Action' }],
    ['Needs_Action/naïve 日本語.md', { kind: 'task-note', folder: 'Needs_Action' }],
    ['Needs_Action/tmp-notes.md', { kind: 'task-note', folder: 'Needs_Action' }],
    ['Needs_Action/x (2).md', { kind: 'task-note', folder: 'Needs_Action' }],
    // not notes / not in a task folder
    ['Needs_Action/image.png', { kind: 'ignored' }],
    ['Needs_Action/notes.markdown', { kind: 'ignored' }],
    ['Needs_Action/md', { kind: 'ignored' }],
    ['Needs_Action/sub/deep.md', { kind: 'ignored' }],
    ['Logs/2024-01-01.md', { kind: 'ignored' }],
    ['Logs/runs/x.md', { kind: 'ignored' }],
    ['Templates/task.md', { kind: 'ignored' }],
    ['Dashboard.md', { kind: 'ignored' }],
    ['needs_action/wrong-case.md', { kind: 'ignored' }],
    ['Needs_Action', { kind: 'ignored' }],
    ['', { kind: 'ignored' }],
    // dot-folders and dot-files
    ['.obsidian/workspace.md', { kind: 'ignored' }],
    ['.trash/old.md', { kind: 'ignored' }],
    ['.git/HEAD', { kind: 'ignored' }],
    ['.vaultrunner/leases/x.json', { kind: 'ignored' }],
    ['.vaultrunner/tasks/x.md', { kind: 'ignored' }],
    ['Needs_Action/.hidden.md', { kind: 'ignored' }],
    ['Needs_Action/.DS_Store', { kind: 'ignored' }],
    // editor / sync temp files
    ['Needs_Action/.syncthing.a.md.tmp', { kind: 'ignored' }],
    ['Needs_Action/a.md.swp', { kind: 'ignored' }],
    ['Needs_Action/.a.md.swp', { kind: 'ignored' }],
    ['Needs_Action/a.md.swo', { kind: 'ignored' }],
    ['Needs_Action/a.md.swx', { kind: 'ignored' }],
    ['Needs_Action/a.md~', { kind: 'ignored' }],
    ['Needs_Action/a.md.tmp', { kind: 'ignored' }],
    ['Needs_Action/a.TMP', { kind: 'ignored' }],
    ['Needs_Action/4913', { kind: 'ignored' }],
    ['Needs_Action/.#a.md', { kind: 'ignored' }],
    ['Needs_Action/#a.md#', { kind: 'ignored' }],
    ['Needs_Action/a.md.crswap', { kind: 'ignored' }],
    // our own temp files (note-store's tempNameFor)
    ['Needs_Action/.fix-login.md.vr-0a1b2c3d.tmp', { kind: 'ignored' }],
    // conflict copies
    ['Needs_Action/a.sync-conflict-20240101-123456-ABCDEF.md', { kind: 'conflict-copy', folder: 'Needs_Action' }],
    ['Done/a.sync-conflict-20240101-123456-ABCDEF.md', { kind: 'conflict-copy', folder: 'Done' }],
    ["Needs_Action/a (Bob's conflicted copy 2024-01-01).md", { kind: 'conflict-copy', folder: 'Needs_Action' }],
    ['Needs_Action/a (Conflicted copy 2024-01-01 101010).md', { kind: 'conflict-copy', folder: 'Needs_Action' }],
    ['Needs_Action/a(conflicted copy).md', { kind: 'conflict-copy', folder: 'Needs_Action' }],
    ['Needs_Action/a (conflict 2024-01-01).md', { kind: 'conflict-copy', folder: 'Needs_Action' }],
    ['Plans/a (Conflict).md', { kind: 'conflict-copy', folder: 'Plans' }],
    // A task's own title may speak of conflicts: not a copy without a sync tool's date.
    ['Needs_Action/Resolve (conflict markers) in parser.md', { kind: 'task-note', folder: 'Needs_Action' }],
    ['Needs_Action/a.sync-conflict-20240101-123456-ABCDEF.png', { kind: 'ignored' }],
    ['Logs/a.sync-conflict-20240101-123456-ABCDEF.md', { kind: 'ignored' }],
    ['Needs_Action/.a.sync-conflict-20240101-123456-ABCDEF.md.tmp', { kind: 'ignored' }],
    ['Needs_Action/conflicts.md', { kind: 'task-note', folder: 'Needs_Action' }],
    ['Needs_Action/resolve conflict.md', { kind: 'task-note', folder: 'Needs_Action' }],
  ];
  it.each(cases)('%s → %o', (rel, expected) => {
    expect(classifyPath(root, rel === '' ? root : at(rel))).toEqual(expected);
  });

  it('paths outside the vault are ignored', () => {
    expect(classifyPath(root, join('/vaults', 'other', 'Needs_Action', 'a.md')).kind).toBe('ignored');
    expect(classifyPath(root, join('/vaults', 'my vault2', 'Needs_Action', 'a.md')).kind).toBe('ignored');
    expect(classifyPath(root, '/etc/passwd').kind).toBe('ignored');
  });

  it('accepts a root with a trailing separator', () => {
    expect(classifyPath(root + '/', at('Done/a.md'))).toEqual({ kind: 'task-note', folder: 'Done' });
  });
});

describe('shouldDescend', () => {
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['Needs_Action', true],
    ['Plans', true],
    ['Done', true],
    ['Pending_Approval', true],
    ['Logs', false],
    ['Logs/runs', false],
    ['Templates', false],
    ['.vaultrunner', false],
    ['.vaultrunner/leases', false],
    ['.obsidian', false],
    ['.trash', false],
    ['.git', false],
    ['Needs_Action/sub', false],
    ['Done/archive', false],
    ['Attachments', false],
  ];
  it.each(cases)('%s → %s', (rel, expected) => {
    expect(shouldDescend(root, rel === '' ? root : at(rel))).toBe(expected);
  });

  it('never descends outside the vault', () => {
    expect(shouldDescend(root, '/vaults')).toBe(false);
    expect(shouldDescend(root, join('/vaults', 'other'))).toBe(false);
  });
});

describe('isIgnoredForWatch (what the watchers leave alone)', () => {
  // [path, isDir (undefined = no stats yet), ignored]
  const cases: Array<[string, boolean | undefined, boolean]> = [
    ['', undefined, false],
    ['', true, false],
    ['Needs_Action', undefined, false],
    ['Needs_Action', true, false],
    ['Done', true, true], // Done/ and Plans/ are never watched: nothing depends on their events
    ['Plans', undefined, true],
    ['Done/a.md', false, true],
    ['Pending_Approval', true, false],
    ['Needs_Action', false, true], // a file called Needs_Action is nothing to us
    ['Logs', true, true],
    ['Templates', undefined, true],
    ['.vaultrunner', true, true],
    ['.obsidian', undefined, true],
    ['Dashboard.md', false, true],
    ['Needs_Action/a.md', false, false],
    ['Needs_Action/a.md', undefined, false],
    ['Needs_Action/a.md', true, true], // a folder named like a note
    ['Needs_Action/sub', true, true],
    ['Needs_Action/sub', undefined, true],
    ['Needs_Action/sub/a.md', false, true],
    ['Needs_Action/.a.md.vr-00ff00ff.tmp', false, true],
    ['Needs_Action/a.md.swp', false, true],
    ['Needs_Action/a.sync-conflict-20240101-123456-ABCDEF.md', false, false],
    ['.vaultrunner/leases/x.json', false, true],
  ];
  it.each(cases)('%s (dir: %s) → %s', (rel, isDir, expected) => {
    expect(isIgnoredForWatch(root, rel === '' ? root : at(rel), isDir)).toBe(expected);
  });
});
