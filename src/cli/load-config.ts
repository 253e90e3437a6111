// Config for CLI commands: a .env (named by --env-file or VAULTRUNNER_ENV, else the working
// directory's, quietly), the environment over it, then flags on top.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { loadConfig, type Config, type ConfigKey } from '../config/config.js';
import { ConfigError, VaultrunnerError } from '../errors.js';
import { vaultPaths, type VaultPaths } from '../vault/layout.js';
import type { CommandContext } from './command.js';

/** Names the .env file for every command (like --env-file); read only by the CLI. */
export const ENV_FILE_VAR = 'VAULTRUNNER_ENV';

export interface EnvFile {
  /** Absolute path of the file read, if any. */
  path?: string;
  origin: '--env-file' | typeof ENV_FILE_VAR | 'working directory' | 'none';
}

/** Which .env the command reads. A file named by flag or variable must exist (ConfigError, exit 2). */
export function envFileFor(ctx: CommandContext): EnvFile {
  const flag = ctx.values['env-file'];
  const fromVar = ctx.io.env[ENV_FILE_VAR]?.trim();
  const named: { raw: string; origin: EnvFile['origin'] } | undefined = typeof flag === 'string' ? { raw: flag, origin: '--env-file' } : fromVar ? { raw: fromVar, origin: ENV_FILE_VAR } : undefined;
  if (named) {
    const path = resolve(ctx.io.cwd, named.raw);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
      throw new ConfigError(`${named.origin === '--env-file' ? '--env-file' : `${ENV_FILE_VAR}=`}${JSON.stringify(named.raw)} names no file (${path})`);
    }
    return { path, origin: named.origin };
  }
  const here = join(ctx.io.cwd, '.env');
  return existsSync(here) ? { path: here, origin: 'working directory' } : { origin: 'none' };
}

/** One line for people: which .env was read. */
export function describeEnvFile(f: EnvFile): string {
  return f.path ? `${f.path} (${f.origin === 'working directory' ? 'the working directory\'s' : `named by ${f.origin}`})` : 'none';
}

// dotenv is loaded only when there is a .env to read (~10-20 ms of a command without one).
function dotenvParse(): (typeof import('dotenv'))['parse'] {
  return (process.getBuiltinModule('node:module').createRequire(import.meta.url)('dotenv') as typeof import('dotenv')).parse;
}

/** The process environment plus what the .env defines; the environment wins over the .env. */
export function readEnv(ctx: CommandContext, file: EnvFile = envFileFor(ctx)): NodeJS.ProcessEnv {
  const env = { ...ctx.io.env };
  if (!file.path) return env;
  const values = anchorPaths(dotenvParse()(readFileSync(file.path)), dirname(file.path));
  for (const [k, v] of Object.entries(values)) if (env[k] === undefined) env[k] = v;
  return env;
}

/**
 * Relative paths in a .env are relative to its own folder, so the file means the same from any
 * working directory (`doctor --env-file ~/vr/.env` run from elsewhere sees the service's vault).
 */
function anchorPaths(values: Record<string, string>, dir: string): Record<string, string> {
  const out = { ...values };
  const abs = (p: string) => (p && !isAbsolute(p) ? resolve(dir, p) : p);
  if (out.VAULT_DIR?.trim()) out.VAULT_DIR = abs(out.VAULT_DIR.trim());
  if (out.WORKSPACE_ROOTS) out.WORKSPACE_ROOTS = out.WORKSPACE_ROOTS.split(delimiter).map((p) => abs(p.trim())).join(delimiter);
  if (out.CLAUDE_BIN?.includes('/')) out.CLAUDE_BIN = abs(out.CLAUDE_BIN.trim());
  if (out.COMMAND_AGENTS?.trim()) {
    try {
      const agents = JSON.parse(out.COMMAND_AGENTS) as unknown;
      if (agents && typeof agents === 'object' && !Array.isArray(agents)) {
        const mapped = Object.fromEntries(Object.entries(agents).map(([k, argv]) => [k, Array.isArray(argv) ? argv.map((a) => (typeof a === 'string' && /^\.{1,2}\//.test(a) ? resolve(dir, a) : a)) : argv]));
        out.COMMAND_AGENTS = JSON.stringify(mapped);
      }
    } catch {
      /* invalid JSON: loadConfig reports it with the key and value */
    }
  }
  return out;
}

export function configFor(ctx: CommandContext, extra: Partial<Record<ConfigKey, string>> = {}, file?: EnvFile): Config {
  const overrides: Partial<Record<ConfigKey, string>> = { ...extra };
  if (typeof ctx.values.vault === 'string') overrides.VAULT_DIR = ctx.values.vault;
  if (typeof ctx.values['log-level'] === 'string') overrides.LOG_LEVEL = ctx.values['log-level'];
  return loadConfig(readEnv(ctx, file), overrides, ctx.io.cwd);
}

/** The vault's paths; a folder without Needs_Action/ is no vault (exit 1, with the `init` hint). */
export function requireVault(config: Config): VaultPaths {
  const paths = vaultPaths(config.vaultDir);
  if (!existsSync(paths.needsAction)) {
    throw new VaultrunnerError('VAULT_MISSING', `no vault at ${paths.root} (Needs_Action/ is missing); create one with 'vaultrunner init ${paths.root}' or pass --vault <dir>`);
  }
  return paths;
}
