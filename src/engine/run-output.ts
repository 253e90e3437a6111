// A run's raw stdout and stderr, in files the service owns (`.vaultrunner/output/`), not pipes: an
// agent keeps running when the service is killed, and when it finishes meanwhile its result is
// read back from here after the restart and recorded, instead of running the task again. The
// files are removed once the outcome is recorded (the transcript in Logs/ keeps the record).
import { constants } from 'node:fs';
import { lstat, open, unlink } from '../os/quick-fs.js';
import { join } from 'node:path';
import { ensureVaultDir } from '../os/safe-open.js';
import type { VaultPaths } from '../vault/layout.js';
import { stateKey } from '../vault/state-key.js';

export interface RunOutputFiles {
  stdout: string;
  stderr: string;
}

/** Read back at most this much of a finished run's stdout: its result is the last event. */
const TAIL_BYTES = 8 * 1024 * 1024;

const dirOf = (paths: VaultPaths) => join(paths.state, 'output');

/** The bare name recorded in the lease (the vault may be moved between a crash and a restart). */
export function runOutputName(taskId: string, attempt: number): string {
  return `${stateKey(taskId)}.attempt-${attempt}`;
}

export function runOutputFiles(paths: VaultPaths, name: string): RunOutputFiles {
  const base = join(dirOf(paths), name);
  return { stdout: `${base}.out`, stderr: `${base}.err` };
}

/** Make the folder (never through a link out of the vault) and clear a stale pair of this name. */
export async function prepareRunOutput(paths: VaultPaths, name: string): Promise<RunOutputFiles> {
  await ensureVaultDir(paths.root, dirOf(paths));
  const files = runOutputFiles(paths, name);
  // Nearly always there is nothing to clear: a blocking lstat asks, not two unlinks on the thread pool.
  const stale = await Promise.all([files.stdout, files.stderr].map((p) => lstat(p).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT')));
  if (stale.some(Boolean)) await removeRunOutput(files);
  return files;
}

export async function removeRunOutput(files: RunOutputFiles): Promise<void> {
  // Absent already is fine; anything else (a folder in the way) is left for a person to see.
  await Promise.all([unlink(files.stdout), unlink(files.stderr)].map((p) => p.catch(() => undefined)));
}

/** The last part of a run's stdout, from a line start; undefined when it is missing or not a regular file. */
export async function readRunOutputTail(file: string, maxBytes = TAIL_BYTES): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    const start = Math.max(0, st.size - maxBytes);
    const buf = Buffer.alloc(st.size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1); // began mid-line
    return text;
  } finally {
    await fh.close();
  }
}
