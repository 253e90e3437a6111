// Every CLI command, in the order `--help` lists them.
import type { Command } from '../command.js';
import { initCommand } from './init.js';
import { startCommand } from './start.js';

export const COMMANDS: Command[] = [initCommand, startCommand];
