// The shape of a CLI command: its own flags (node:util parseArgs), help text, and run().
import type { ParseArgsConfig } from 'node:util';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CommandContext {
  io: CliIo;
  /** Values of the command's flags, plus the global ones (`vault`, `env-file`, `log-level`). */
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** e.g. 'new "<title>" --type <type> [--dir <dir>]' */
  usage: string;
  /** Longer help after the usage line. */
  help?: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Positionals allowed: [min, max]. */
  positionals?: [number, number];
  /** Returns the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

export const GLOBAL_OPTIONS = {
  vault: { type: 'string' },
  'env-file': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;
