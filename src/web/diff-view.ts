// A review's diff as data the page can lay out unified or side by side: files → hunks → lines
// with old/new line numbers. Pure: text in, structure out. The page builds the table with DOM
// text nodes, so nothing from the repository is ever parsed as HTML.

export interface DiffLine {
  /** add/del/ctx: a line of the change; note: "\ No newline at end of file". */
  kind: 'add' | 'del' | 'ctx' | 'note';
  old: number | null;
  new: number | null;
  text: string;
}

export interface DiffHunk {
  /** The `@@ -a,b +c,d @@ …` line. */
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  oldPath: string | null;
  newPath: string | null;
  change: 'added' | 'deleted' | 'renamed' | 'modified';
  binary: boolean;
  additions: number;
  deletions: number;
  hunks: DiffHunk[];
}

export interface ParsedDiff {
  files: DiffFile[];
  /** Lines were left out past `maxLines`. */
  truncated: boolean;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** `a/x` / `b/x` / `/dev/null` as written by git, quoted names unquoted. */
function pathOf(raw: string): string | null {
  let p = raw.replace(/\t.*$/, '').trim();
  if (p.startsWith('"') && p.endsWith('"')) {
    try {
      p = JSON.parse(p) as string; // git's C-style quoting is JSON-compatible for the usual escapes
    } catch {
      p = p.slice(1, -1);
    }
  }
  if (p === '/dev/null') return null;
  return /^[ab]\//.test(p) ? p.slice(2) : p;
}

/** Parse a unified diff (git's, or plain `---`/`+++`). Counts in hunk headers decide where a hunk ends. */
export function parseUnifiedDiff(text: string, maxLines = 20_000): ParsedDiff {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let hunk: DiffHunk | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;
  let shown = 0;
  let truncated = false;
  const startFile = (): DiffFile => {
    file = { oldPath: null, newPath: null, change: 'modified', binary: false, additions: 0, deletions: 0, hunks: [] };
    files.push(file);
    hunk = undefined;
    return file;
  };

  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (hunk && line.startsWith('\\')) {
      if (shown < maxLines) hunk.lines.push({ kind: 'note', old: null, new: null, text: line.slice(1).trim() });
      continue;
    }
    if (hunk && (oldLeft > 0 || newLeft > 0)) {
      const c = line[0];
      if (c === '+' || c === '-' || c === ' ' || line === '') {
        const kind = c === '+' ? 'add' : c === '-' ? 'del' : 'ctx';
        if (kind !== 'add') oldLeft--;
        if (kind !== 'del') newLeft--;
        if (kind === 'add') file!.additions++;
        if (kind === 'del') file!.deletions++;
        if (shown < maxLines) hunk.lines.push({ kind, old: kind === 'add' ? null : oldNo++, new: kind === 'del' ? null : newNo++, text: line.slice(1) });
        else ((truncated = true), kind === 'add' ? newNo++ : kind === 'del' ? oldNo++ : (oldNo++, newNo++));
        shown++;
        continue;
      }
      hunk = undefined; // a cut diff: the counts promised more than came
    }
    if (line.startsWith('diff --git ')) {
      const f = startFile();
      const m = /^diff --git a\/(.+) b\/(.+)$/.exec(line); // ambiguous with spaces: ---/+++ below win
      if (m) ((f.oldPath = m[1]!), (f.newPath = m[2]!));
      continue;
    }
    const h = HUNK.exec(line);
    if (h && file) {
      oldNo = Number(h[1]);
      newNo = Number(h[3]);
      oldLeft = h[2] === undefined ? 1 : Number(h[2]);
      newLeft = h[4] === undefined ? 1 : Number(h[4]);
      hunk = { header: line, lines: [] };
      file.hunks.push(hunk);
      continue;
    }
    if (line.startsWith('--- ')) {
      // A plain unified diff has no `diff --git` line: `---` after a file's hunks starts the next.
      if (!file || file.hunks.length > 0) startFile();
      file!.oldPath = pathOf(line.slice(4));
      if (file!.oldPath === null) file!.change = 'added';
      continue;
    }
    if (!file) continue;
    if (line.startsWith('+++ ')) {
      file.newPath = pathOf(line.slice(4));
      if (file.newPath === null) file.change = 'deleted';
    } else if (line.startsWith('new file mode')) file.change = 'added';
    else if (line.startsWith('deleted file mode')) file.change = 'deleted';
    else if (line.startsWith('rename from ')) ((file.change = 'renamed'), (file.oldPath = line.slice(12)));
    else if (line.startsWith('rename to ')) ((file.change = 'renamed'), (file.newPath = line.slice(10)));
    else if (line.startsWith('Binary files ') || line === 'GIT binary patch') file.binary = true;
  }
  for (const f of files) {
    if (f.change === 'added') f.oldPath = null;
    if (f.change === 'deleted') f.newPath = null;
    if (f.change === 'modified' && f.oldPath && f.newPath && f.oldPath !== f.newPath) f.change = 'renamed';
  }
  return { files, truncated };
}

/** The body of the last ```diff fence in a note (the review note's "## Diff"), if any. */
export function diffFence(markdown: string): string | undefined {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  let found: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*diff\s*$/i.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(lines[j]!);
    }
    found = body.join('\n');
    i = j;
  }
  return found;
}
