// Starting one file-backed agent child, shared by the spawner process and the service's direct
// fallback (spawner not up): output files opened here (fds cannot cross the IPC channel), argv
// array, exactly the env given, its own process group, the prompt on stdin from a file of ours.
// Imports node: built-ins and os/safe-open only (it runs in the spawner).
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { APPEND_SYNC_FLAGS } from '../../../os/safe-open.js';
import type { SpawnRequest } from './protocol.js';

// openOutputFds' flags and mode (append, create, never through a link, never block on a FIFO,
// private; only a regular file), with the errno kept as the code (ELOOP for a planted link).
const OUTPUT_MODE = 0o600;

export interface ChildEvents {
  spawned(pid: number): void;
  /** The child never ran; `code` kept (ENOENT, EACCES, ENOTDIR, ELOOP, …). */
  error(err: { code?: string; message: string }): void;
  exit(exitCode: number | null, signal: string | null): void;
}

export function startChild(req: Omit<SpawnRequest, 'type' | 'id'>, on: ChildEvents): void {
  const fds: number[] = [];
  let child;
  try {
    fds.push(openOutput(req.stdout));
    fds.push(openOutput(req.stderr));
    fds.push(promptFd(req.stdinFile, req.stdin));
    child = spawn(req.program, req.args, { cwd: req.cwd, env: req.env, detached: true, stdio: [fds[2]!, fds[0]!, fds[1]!] });
  } catch (err) {
    closeAll(fds);
    on.error(errorFacts(err));
    return;
  }
  // The child holds its own copies now.
  closeAll(fds);
  let started = false;
  child.once('error', (err) => {
    if (!started) on.error(errorFacts(err));
  });
  if (child.pid === undefined) return; // 'error' follows (ENOENT, EACCES, …)
  started = true;
  on.spawned(child.pid);
  child.once('exit', (exitCode, signal) => on.exit(exitCode, signal));
}

const PROMPT_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * The prompt as the child's stdin: a private file, written whole with positioned writes (its
 * offset stays at 0 for the child), unlinked at once, the descriptor keeping it until the child
 * closes it. Unlike a pipe it needs nobody to write it after the fork: the child reads it all and
 * then EOF, even when this process dies meanwhile; and no stream object per run. O_EXCL never
 * follows a planted link; a stale file of that name (a crash between create and unlink) is removed.
 */
function promptFd(path: string, text: string): number {
  let fd: number;
  try {
    fd = openSync(path, PROMPT_FLAGS, OUTPUT_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkSync(path);
    fd = openSync(path, PROMPT_FLAGS, OUTPUT_MODE);
  }
  try {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at, at);
    unlinkSync(path);
    return fd;
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
    throw err;
  }
}

function openOutput(path: string): number {
  const fd = openSync(path, APPEND_SYNC_FLAGS, OUTPUT_MODE);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw Object.assign(new Error(`${path} is not a regular file; vaultrunner does not open it`), { code: 'EUNSAFE' });
  }
  return fd;
}

function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

function errorFacts(err: unknown): { code?: string; message: string } {
  const e = err as NodeJS.ErrnoException | undefined;
  return { ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: String(e?.message ?? err) };
}
