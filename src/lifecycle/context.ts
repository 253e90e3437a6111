// What the orchestrator, executor and watchdog share. Injected, so tests control clock and paths.
import type { Logger } from 'pino';
import type { AgentRegistry } from '../agents/registry.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { LeaseStore } from '../vault/lease-store.js';
import type { VaultPaths } from '../vault/layout.js';
import type { NoteStore } from '../vault/note-store.js';
import type { TaskIndex } from './task-index.js';
import type { TaskStateStore } from './task-state.js';

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
}
