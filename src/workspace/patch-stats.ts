// Per-file line counts taken from the patch itself, so one `git diff-tree -z --raw -p` gives the
// review note its stats and its diff: asking git for `--numstat` beside `-p` makes it read every
// changed blob twice, which was the largest part of committing a 200-file change.
//
// The counts are the patch's own `+` / `-` lines inside hunks: what `--numstat` reports, and what
// the review note shows. A type change (file ↔ symlink) is two patch sections, delete and create,
// and counts as their sum; a binary file has no counts (null), as numstat's `-`.

export interface RawChange {
  path: string;
  oldMode: number;
  newMode: number;
}

export interface PatchFileStat {
  path: string;
  insertions: number | null;
  deletions: number | null;
}

const NUL = 0;
const NL = 0x0a;

/** Splits `diff-tree -z --raw -p` output: `:<modes> <ids> <status>\0<path>\0` records, an empty
 *  field, then the patch. Undefined when the output is not shaped like that. */
export function splitRawAndPatch(out: Buffer): { records: RawChange[]; patch: Buffer } | undefined {
  const records: RawChange[] = [];
  let pos = 0;
  while (pos < out.length && out[pos] === 0x3a /* : */) {
    const metaEnd = out.indexOf(NUL, pos);
    const pathEnd = metaEnd < 0 ? -1 : out.indexOf(NUL, metaEnd + 1);
    if (pathEnd < 0) return undefined;
    const [oldMode, newMode] = out.subarray(pos + 1, metaEnd).toString('latin1').split(' ');
    records.push({ path: out.subarray(metaEnd + 1, pathEnd).toString('utf8'), oldMode: parseInt(oldMode ?? '', 8), newMode: parseInt(newMode ?? '', 8) });
    pos = pathEnd + 1;
  }
  if (pos === out.length) return records.length === 0 ? { records, patch: Buffer.alloc(0) } : undefined;
  if (out[pos] !== NUL || records.length === 0) return undefined;
  return { records, patch: out.subarray(pos + 1) };
}

const S_IFMT = 0o170000;
const typeChanged = (r: RawChange) => r.oldMode !== 0 && r.newMode !== 0 && (r.oldMode & S_IFMT) !== (r.newMode & S_IFMT);

const startsWith = (buf: Buffer, at: number, prefix: string) => buf.toString('latin1', at, at + prefix.length) === prefix;

/** Counts per record, or undefined when the patch's sections do not line up with the records
 *  (the caller then asks git for `--numstat`: never a wrong count). */
export function statsFromPatch(records: readonly RawChange[], patch: Buffer): PatchFileStat[] | undefined {
  const starts: number[] = [];
  if (patch.length && startsWith(patch, 0, 'diff --git ')) starts.push(0);
  for (let i = patch.indexOf('\ndiff --git ', 0, 'latin1'); i >= 0; i = patch.indexOf('\ndiff --git ', i + 1, 'latin1')) starts.push(i + 1);
  const expected = records.reduce((n, r) => n + (typeChanged(r) ? 2 : 1), 0);
  if (starts.length !== expected || (patch.length > 0 && starts[0] !== 0)) return undefined;
  starts.push(patch.length);

  let section = 0;
  return records.map((r) => {
    let ins = 0;
    let del = 0;
    let binary = false;
    for (let k = typeChanged(r) ? 2 : 1; k > 0; k--, section++) {
      const c = countSection(patch, starts[section]!, starts[section + 1]!);
      binary ||= c.binary;
      ins += c.ins;
      del += c.del;
    }
    return binary ? { path: r.path, insertions: null, deletions: null } : { path: r.path, insertions: ins, deletions: del };
  });
}

/** `+` / `-` lines after the section's first hunk header; header lines (`---`, `+++`) come before it. */
function countSection(patch: Buffer, from: number, to: number): { ins: number; del: number; binary: boolean } {
  let ins = 0;
  let del = 0;
  let binary = false;
  let inHunk = false;
  for (let line = from; line < to; ) {
    const end = patch.indexOf(NL, line);
    const next = end < 0 || end >= to ? to : end + 1;
    const first = patch[line];
    if (inHunk) {
      if (first === 0x2b /* + */) ins++;
      else if (first === 0x2d /* - */) del++;
    } else if (startsWith(patch, line, '@@ ')) inHunk = true;
    else if (startsWith(patch, line, 'GIT binary patch') || (startsWith(patch, line, 'Binary files ') && patch.toString('latin1', line, next).trimEnd().endsWith(' differ'))) binary = true;
    line = next;
  }
  return { ins, del, binary };
}
