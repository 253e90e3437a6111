// The messages between the service and its spawner process (JSON over the IPC channel). Types
// only: the spawner imports nothing but node: built-ins, and this file compiles to nothing.

/** Service → spawner: start one file-backed agent run. */
export interface SpawnRequest {
  type: 'spawn';
  id: number;
  program: string;
  args: string[];
  cwd: string;
  /** The child's whole environment; nothing of the spawner's is added. */
  env: Record<string, string>;
  /** The child's stdin, whole, then EOF (written to `stdinFile`, which is unlinked once open). */
  stdin: string;
  /** Where the prompt file is made, beside the output files (see start-child.ts promptFd). */
  stdinFile: string;
  /** Output files the spawner opens itself (fds cannot cross the channel). */
  stdout: string;
  stderr: string;
}

/** Spawner → service. `ready` once it listens; then per request `spawned` or `error`, and `exit`. */
export type SpawnerReply =
  | { type: 'ready' }
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'error'; id: number; code?: string; message: string }
  | { type: 'exit'; id: number; exitCode: number | null; signal: string | null };
