// Every CLI command, in the order `--help` lists them. Loaded on demand: a command pays only for
// the modules it uses (the service, chokidar and execa are not loaded for `list` or `--version`).
import type { Command } from '../command.js';

const LOADERS: Record<string, () => Promise<Command>> = {
  init: async () => (await import('./init.js')).initCommand,
  start: async () => (await import('./start.js')).startCommand,
  new: async () => (await import('./new-task.js')).newCommand,
  list: async () => (await import('./list.js')).listCommand,
  show: async () => (await import('./show.js')).showCommand,
  pause: async () => (await import('./task-edits.js')).pauseCommand,
  resume: async () => (await import('./task-edits.js')).resumeCommand,
  cancel: async () => (await import('./task-edits.js')).cancelCommand,
  retry: async () => (await import('./task-edits.js')).retryCommand,
  approve: async () => (await import('./task-edits.js')).approveCommand,
  merge: async () => (await import('./workspace.js')).mergeCommand,
  discard: async () => (await import('./workspace.js')).discardCommand,
  gc: async () => (await import('./workspace.js')).gcCommand,
  logs: async () => (await import('./logs.js')).logsCommand,
  'web-url': async () => (await import('./web-url.js')).webUrlCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
  worker: async () => (await import('./worker.js')).workerCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
};

export const COMMAND_NAMES: readonly string[] = Object.keys(LOADERS);

export async function loadCommand(name: string): Promise<Command | undefined> {
  return Object.hasOwn(LOADERS, name) ? LOADERS[name]!() : undefined;
}

export async function loadAllCommands(): Promise<Command[]> {
  return Promise.all(COMMAND_NAMES.map((n) => LOADERS[n]!()));
}
