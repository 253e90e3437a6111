// Where the benchmarks' temp vaults live, said with the figures: on ext4 without a journal every
// file created walks past the inodes deleted in the last minutes, which makes the service's many
// small atomic writes dearer than elsewhere (docs/benchmarks.md, "Round 10").
import { readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';

/** Filesystem of the temp dir, e.g. "ext4 (/dev/vda), no journal"; "unknown" off Linux. */
export function tempFilesystem(dir = tmpdir()): string {
  let path: string;
  let mounts: string;
  try {
    path = realpathSync(dir);
    mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return 'unknown';
  }
  // mountinfo: id parent major:minor root mountpoint options [optional...] - fstype source superopts
  let best: { point: string; type: string; source: string } | undefined;
  for (const line of mounts.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = left.split(' ')[4]!.replace(/\\040/g, ' ');
    const [type, source] = right.split(' ');
    const inside = point === '/' || path === point || path.startsWith(`${point}/`);
    if (inside && (!best || point.length >= best.point.length)) best = { point, type: type!, source: source! };
  }
  if (!best) return 'unknown';
  let text = `${best.type} (${best.source})`;
  if (best.type === 'ext4') {
    try {
      const journal = readFileSync(`/sys/fs/ext4/${basename(best.source)}/journal_task`, 'utf8').trim();
      text += journal === '<none>' ? ', no journal: file creation is dearer after many deletions' : ', journaled';
    } catch {
      // no sysfs entry for it: say nothing more
    }
  }
  return text;
}
