// The diff parser behind the review's unified / side-by-side view (pure: text in, structure out).
import { describe, expect, it } from 'vitest';
import { diffFence, parseUnifiedDiff } from '../../src/web/diff-view.js';

describe('parseUnifiedDiff', () => {
  it('keeps a removed line that looks like a file header inside a hunk (the counts decide)', () => {
    const d = parseUnifiedDiff(['--- a/q.sql', '+++ b/q.sql', '@@ -1,2 +1,2 @@', '--- old comment', '+++ new comment', ' select 1;', ''].join('\n'));
    expect(d.files).toHaveLength(1);
    expect(d.files[0]!.hunks[0]!.lines).toEqual([
      { kind: 'del', old: 1, new: null, text: '-- old comment' },
      { kind: 'add', old: null, new: 1, text: '++ new comment' },
      { kind: 'ctx', old: 2, new: 2, text: 'select 1;' },
    ]);
    expect([d.files[0]!.additions, d.files[0]!.deletions]).toEqual([1, 1]);
  });

  it('reads git headers: added, deleted, renamed, binary, quoted names, and a note inside a hunk', () => {
    const text = [
      'diff --git a/a.txt b/a.txt', 'index 1..2 100644', '--- a/a.txt', '+++ b/a.txt', '@@ -1 +1 @@', '-x', '\\ No newline at end of file', '+y',
      'diff --git a/n.txt b/n.txt', 'new file mode 100644', '--- /dev/null', '+++ b/n.txt', '@@ -0,0 +1 @@', '+new',
      'diff --git a/gone.txt b/gone.txt', 'deleted file mode 100644', '--- a/gone.txt', '+++ /dev/null', '@@ -1 +0,0 @@', '-old',
      'diff --git a/from.txt b/to.txt', 'similarity index 100%', 'rename from from.txt', 'rename to to.txt',
      'diff --git a/img.png b/img.png', 'Binary files a/img.png and b/img.png differ',
      'diff --git "a/sp ace\\t.txt" "b/sp ace\\t.txt"', '--- "a/sp ace\\t.txt"', '+++ "b/sp ace\\t.txt"', '@@ -1 +1 @@', '-a', '+b', '',
    ].join('\n');
    const d = parseUnifiedDiff(text);
    expect(d.files.map((f) => [f.change, f.oldPath, f.newPath, f.binary])).toEqual([
      ['modified', 'a.txt', 'a.txt', false],
      ['added', null, 'n.txt', false],
      ['deleted', 'gone.txt', null, false],
      ['renamed', 'from.txt', 'to.txt', false],
      ['modified', 'img.png', 'img.png', true],
      ['modified', 'sp ace\t.txt', 'sp ace\t.txt', false],
    ]);
    expect(d.files[0]!.hunks[0]!.lines.map((l) => l.kind)).toEqual(['del', 'note', 'add']);
  });

  it('stops at maxLines and says so; a diff cut mid-hunk ends that hunk', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `+line ${i}`);
    const d = parseUnifiedDiff(['--- a/x', '+++ b/x', '@@ -0,0 +1,50 @@', ...lines].join('\n'), 10);
    expect(d.truncated).toBe(true);
    expect(d.files[0]!.hunks[0]!.lines).toHaveLength(10);
    expect(d.files[0]!.additions).toBe(50);
    const cut = parseUnifiedDiff(['--- a/x', '+++ b/x', '@@ -1,9 +1,9 @@', ' a', '-b', '', '*The diff is cut here*'].join('\n'));
    expect(cut.files[0]!.hunks[0]!.lines.map((l) => l.text)).toEqual(['a', 'b', '']);
  });
});

describe('diffFence', () => {
  it('takes the last ```diff block, with a longer fence holding backticks', () => {
    expect(diffFence('x\n```diff\n-a\n```\n\n````diff\n+```\n+b\n````\nafter\n')).toBe('+```\n+b');
    expect(diffFence('no diff here\n```ts\n-a\n```\n')).toBeUndefined();
  });
});
