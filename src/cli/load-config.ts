// Config for CLI commands: .env from the working directory (quietly), then flags on top.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { loadConfig, type Config, type ConfigKey } from '../config/config.js';
import { VaultrunnerError } from '../errors.js';
import { vaultPaths, type VaultPaths } from '../vault/layout.js';
import type { CommandContext } from './command.js';

/** The process environment plus what .env defines; the environment wins over .env. */
export function readEnv(ctx: CommandContext): NodeJS.ProcessEnv {
  const env = { ...ctx.io.env };
  const file = join(ctx.io.cwd, '.env');
  if (existsSync(file)) dotenv.config({ path: file, processEnv: env as Record<string, string>, quiet: true, override: false });
  return env;
}

export function configFor(ctx: CommandContext, extra: Partial<Record<ConfigKey, string>> = {}): Config {
  const overrides: Partial<Record<ConfigKey, string>> = { ...extra };
  if (typeof ctx.values.vault === 'string') overrides.VAULT_DIR = ctx.values.vault;
  if (typeof ctx.values['log-level'] === 'string') overrides.LOG_LEVEL = ctx.values['log-level'];
  return loadConfig(readEnv(ctx), overrides, ctx.io.cwd);
}

/** The vault's paths; a folder without Needs_Action/ is no vault (exit 1, with the `init` hint). */
export function requireVault(config: Config): VaultPaths {
  const paths = vaultPaths(config.vaultDir);
  if (!existsSync(paths.needsAction)) {
    throw new VaultrunnerError('VAULT_MISSING', `no vault at ${paths.root} (Needs_Action/ is missing); create one with 'vaultrunner init ${paths.root}' or pass --vault <dir>`);
  }
  return paths;
}
