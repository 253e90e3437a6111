// What the orchestrator, executor and watchdog share. Injected, so tests control clock and paths.
import type { Logger } from 'pino';
import type { AgentRegistry } from '../agents/registry.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { LeaseStore } from '../vault/lease-store.js';
import type { VaultPaths } from '../vault/layout.js';
import type { NoteStore } from '../vault/note-store.js';
import type { TaskIndex } from '../vault/task-index.js';
import type { TaskStateStore } from '../vault/task-state.js';
import type { EngineEvents } from './events.js';
import type { RunRegistry } from './run-registry.js';
import type { OwnWrites } from './transition.js';

export interface EngineContext {
  config: Config;
  paths: VaultPaths;
  store: NoteStore;
  index: TaskIndex;
  taskState: TaskStateStore;
  leases: LeaseStore;
  agents: AgentRegistry;
  clock: Clock;
  logger: Logger;
  /** Base environment for agent children. */
  env: NodeJS.ProcessEnv;
  events: EngineEvents;
  /** The note content this service last wrote per task, to tell a person's status edit from ours. */
  ownWrites: OwnWrites;
  /** Every agent process (task attempts and agent planners): slots, leases, deadlines, stop. */
  runs: RunRegistry;
  /** With remote workers (QUEUE_URL) the agents live there: the queue's reachability stands for
   *  every agent's health here (no local probes). */
  agentHealth?: () => { ok: boolean; detail: string };
}
