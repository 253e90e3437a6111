// Every CLI command, in the order `--help` lists them.
import type { Command } from '../command.js';
import { doctorCommand } from './doctor.js';
import { initCommand } from './init.js';
import { listCommand } from './list.js';
import { logsCommand } from './logs.js';
import { newCommand } from './new-task.js';
import { showCommand } from './show.js';
import { startCommand } from './start.js';
import { approveCommand, cancelCommand, pauseCommand, resumeCommand, retryCommand } from './task-edits.js';

export const COMMANDS: Command[] = [
  initCommand,
  startCommand,
  newCommand,
  listCommand,
  showCommand,
  pauseCommand,
  resumeCommand,
  cancelCommand,
  retryCommand,
  approveCommand,
  logsCommand,
  doctorCommand,
];
