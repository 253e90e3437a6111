// The messages between the service and its scanner process (JSON over the IPC channel). Types
// only: this file compiles to nothing.

/** Service → scanner: which process groups hold a process whose environment has `name=value`. */
export interface ScanRequest {
  type: 'scan';
  id: number;
  name: string;
  value: string;
  /** Where the process folders are (default /proc; tests give a folder of their own). */
  root?: string;
  /** Pids not to read: their environment could not be read in time before. */
  skip: number[];
}

/** Scanner → service: `ready` once it listens, then one `scanned` per request. */
export type ScanReply = { type: 'ready' } | { type: 'scanned'; id: number; groups: number[] };
