#!/usr/bin/env node
// vaultrunner's command line. Unknown commands and bad flags: one clear line and exit 2.
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, type CliIo, type Command } from './cli/command.js';
import { loadAllCommands, loadCommand } from './cli/commands/index.js';
import { ConfigError, UsageError, VaultrunnerError } from './errors.js';

export function version(): string {
  // dist/cli.js → ../package.json (without loading the config module and zod just for this)
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function mainHelp(): Promise<string> {
  const COMMANDS = await loadAllCommands();
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'vaultrunner — an Obsidian vault as a durable task queue for AI coding agents',
    '',
    'Usage: vaultrunner <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    '  --vault <dir>       the vault (default: VAULT_DIR from .env, else ./vault)',
    '  --env-file <file>   the .env to read (default: VAULTRUNNER_ENV, else ./.env if present)',
    '  --log-level <lvl>   trace, debug, info, warn, error, fatal or silent',
    '  -h, --help          help for vaultrunner or for a command',
    '  -v, --version       print the version',
    '',
    'Run `vaultrunner <command> --help` for a command\'s options.',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  const opts = Object.entries(c.options).map(([k, o]) => `  --${k}${o.type === 'string' ? ' <value>' : ''}${o.short ? ` (-${o.short})` : ''}`);
  return [`Usage: vaultrunner ${c.usage}`, '', c.summary, ...(c.help ? ['', c.help] : []), ...(opts.length ? ['', 'Options:', ...opts] : []), '', 'Global options: --vault <dir>, --env-file <file>, --log-level <level>, --help'].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const say = (s: string) => io.stdout.write(`${s}\n`);
  const fail = (s: string, code: number) => (io.stderr.write(`vaultrunner: ${s}\n`), code);
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === 'help' && rest[0]) return main([rest[0], '--help'], io);
    say(await mainHelp());
    return 0;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    say(version());
    return 0;
  }
  const command = await loadCommand(first);
  if (!command) return fail(`unknown command '${first}'; run 'vaultrunner --help' for the list`, 2);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    return fail(`${(err as Error).message.split('\n')[0]} (see 'vaultrunner ${command.name} --help')`, 2);
  }
  if (parsed.values.help) {
    say(commandHelp(command));
    return 0;
  }
  const [min, max] = command.positionals ?? [0, 0];
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    return fail(`usage: vaultrunner ${command.usage}`, 2);
  }
  try {
    return await command.run({ io, values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals });
  } catch (err) {
    if (err instanceof ConfigError) return fail(`invalid configuration: ${err.message}`, 2);
    if (err instanceof UsageError) return fail(err.message, 2);
    if (err instanceof VaultrunnerError) return fail(err.message, 1);
    return fail(`unexpected error: ${(err as Error).stack ?? String(err)}`, 1);
  }
}

/**
 * A reader that went away (`vaultrunner list | head`) is not an error: every later write to the
 * stream is dropped and the command finishes with its own exit code. Other stream errors stay fatal.
 */
export function quietWhenClosed(stream: NodeJS.WritableStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

// Commands that keep running: they should tier up as V8 decides.
const LONG_RUNNING = new Set(['start', 'worker', 'logs']);

// Run only when executed (also through the npm bin symlink), not when imported by tests.
const entry = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (import.meta.url === entry) {
  // V8's young generation doubles up to 16 MB semi-spaces when much of what is allocated survives
  // (a scan's notes do), and then stays: ~40 MB of RSS that buys nothing here. Kept at its first
  // size: `list` of 2,000 notes 82 → 72 MB and a little faster; the service at 100,000 done and
  // 5,000 active notes 127 → 84 MB after ready, and in the throughput bench 112-117 → 89-93 MB
  // peak at the same CPU (a smaller process also forks its agents faster). Only on the V8 this
  // was measured and run on (Node 20's): V8 prints an error for a flag it lacks.
  if (process.versions.v8.startsWith('11.')) {
    const v8 = process.getBuiltinModule('node:v8');
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    // A one-shot command lives under a second: TurboFan's compiles of its per-note functions
    // (on a second thread, with their own memory) finish about when the command does. Tiered up
    // 16× later, only what stays hot for thousands of notes is optimized: `list` of 2,000 notes
    // ~20 % faster and ~40 % less CPU, 20,000 ~4 % slower (docs/benchmarks.md). Not for the service.
    if (!LONG_RUNNING.has(process.argv[2] ?? '')) v8.setFlagsFromString('--interrupt-budget=1081344');
  }
  quietWhenClosed(process.stdout);
  quietWhenClosed(process.stderr);
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`vaultrunner: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
