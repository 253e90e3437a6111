// Operator settings of git workspaces, gates, review and merge (documented in .env.example). Parsed
// apart from config.ts so the lead can wire it in as one sub-object; nothing in the vault sets these.
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { parseDuration } from './duration.js';

export const WORKSPACE_DEFAULTS = {
  WORKTREES_DIR: '',
  WORKSPACE_MODE: 'worktree',
  SETUP: '',
  SETUP_TIMEOUT: '10m',
  GATES: '',
  GATE_TIMEOUT: '10m',
  WORKSPACE_OVERRIDES: '',
  MAX_FIX_ROUNDS: '2',
  REVIEW: 'note',
  MERGE: 'none',
  GIT_AUTHOR: 'vaultrunner <vaultrunner@localhost>',
} as const;
export type WorkspaceConfigKey = keyof typeof WORKSPACE_DEFAULTS;

export type Argv = readonly string[];

export interface RepoCommands {
  /** Empty: no setup step. */
  setup: Argv;
  gates: Readonly<Record<string, Argv>>;
}

export interface WorkspaceConfig {
  /** Absolute; '' in .env means the XDG default (see defaultWorktreesDir in workspace/worktree.ts). */
  worktreesDir: string | undefined;
  mode: 'worktree' | 'in-place';
  setup: Argv;
  setupTimeoutMs: number;
  gates: Readonly<Record<string, Argv>>;
  gateTimeoutMs: number;
  /** Per repository (absolute path of its top folder): replaces setup and/or gates there. */
  overrides: Readonly<Record<string, Partial<RepoCommands>>>;
  maxFixRounds: number;
  /** `always`: every task is reviewed; `note`: only tasks with requires_review: true. */
  review: 'always' | 'note';
  merge: 'none' | 'ff' | 'merge' | 'squash';
  author: { name: string; email: string };
}

// JSON shapes checked by hand (no zod: every CLI call loads the config). A shape returns the path
// of the first bad part ('' for the whole value), or undefined when the value fits.
type Shape = (v: unknown) => string | undefined;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const at = (key: string, inner: string | undefined) => (inner === undefined ? undefined : inner === '' ? key : `${key}.${inner}`);

const argv: Shape = (v) => {
  if (!Array.isArray(v) || v.length === 0) return '';
  const bad = v.findIndex((a) => typeof a !== 'string' || a.length === 0);
  return bad < 0 ? undefined : String(bad);
};
const GATE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const gatesShape: Shape = (v) => {
  if (!isRecord(v)) return '';
  for (const [name, cmd] of Object.entries(v)) {
    if (!GATE_NAME.test(name)) return name;
    const bad = at(name, argv(cmd));
    if (bad !== undefined) return bad;
  }
  return undefined;
};
const overridesShape: Shape = (v) => {
  if (!isRecord(v)) return '';
  for (const [repo, o] of Object.entries(v)) {
    if (repo === '' || !isRecord(o)) return repo;
    for (const [k, x] of Object.entries(o)) {
      // `setup: []` switches setup off for that repository.
      const bad = k === 'setup' ? (Array.isArray(x) && x.length === 0 ? undefined : argv(x)) : k === 'gates' ? gatesShape(x) : '';
      if (bad !== undefined) return `${repo}.${at(k, bad)}`;
    }
  }
  return undefined;
};

function json<T>(key: string, raw: string, shape: Shape, example: string, empty: T): T {
  if (raw.trim() === '') return empty;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not valid JSON; use e.g. ${example}`, { cause: err });
  }
  const where = shape(parsed);
  if (where !== undefined) throw new ConfigError(`${key}=${JSON.stringify(raw)} is not allowed${where ? ` (at ${where})` : ''}; use e.g. ${example}`);
  return parsed as T;
}

function choice<T extends string>(key: string, raw: string, values: readonly T[]): T {
  const v = raw.trim();
  if ((values as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(`${key}=${JSON.stringify(raw)} is not allowed; use one of ${values.join(', ')}`);
}

function duration(key: string, raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 100) throw new ConfigError(`${key}=${JSON.stringify(raw)} is not allowed; use a duration like 90s, 10m or 1h`);
  return ms;
}

/** `Name <email>` → its parts. */
export function parseAuthor(raw: string): { name: string; email: string } {
  const m = /^\s*([^<>\n]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(raw);
  if (!m) throw new ConfigError(`GIT_AUTHOR=${JSON.stringify(raw)} is not allowed; use "Name <email@example.com>"`);
  return { name: m[1]!, email: m[2]! };
}

/** Same inputs as loadConfig: environment-style values and flag overrides with the same keys. */
export function loadWorkspaceConfig(env: NodeJS.ProcessEnv, overrides: Partial<Record<WorkspaceConfigKey, string>> = {}, cwd = process.cwd()): WorkspaceConfig {
  const raw = {} as Record<WorkspaceConfigKey, string>;
  for (const key of Object.keys(WORKSPACE_DEFAULTS) as WorkspaceConfigKey[]) raw[key] = overrides[key] ?? env[key] ?? WORKSPACE_DEFAULTS[key];
  const fixRounds = Number(raw.MAX_FIX_ROUNDS.trim());
  if (!Number.isInteger(fixRounds) || fixRounds < 0 || fixRounds > 20) throw new ConfigError(`MAX_FIX_ROUNDS=${JSON.stringify(raw.MAX_FIX_ROUNDS)} is not allowed; use a whole number from 0 to 20`);
  const perRepo = json<Record<string, Partial<RepoCommands>>>('WORKSPACE_OVERRIDES', raw.WORKSPACE_OVERRIDES, overridesShape, '{"/home/me/app":{"setup":["npm","ci"],"gates":{"test":["npm","test"]}}}', {});
  const dir = raw.WORKTREES_DIR.trim();
  return Object.freeze({
    worktreesDir: dir ? resolve(cwd, dir) : undefined,
    mode: choice('WORKSPACE_MODE', raw.WORKSPACE_MODE, ['worktree', 'in-place'] as const),
    setup: Object.freeze(json<string[]>('SETUP', raw.SETUP, argv, '["npm","ci"]', [] as string[])),
    setupTimeoutMs: duration('SETUP_TIMEOUT', raw.SETUP_TIMEOUT),
    gates: Object.freeze(json<Record<string, Argv>>('GATES', raw.GATES, gatesShape, '{"test":["npm","test"],"lint":["npm","run","lint"]}', {})),
    gateTimeoutMs: duration('GATE_TIMEOUT', raw.GATE_TIMEOUT),
    overrides: Object.freeze(
      Object.fromEntries(
        Object.entries(perRepo).map(([repo, o]) => {
          const abs = resolve(cwd, repo);
          if (!isAbsolute(abs)) throw new ConfigError(`WORKSPACE_OVERRIDES key ${JSON.stringify(repo)} is not a directory path`);
          return [realOr(abs), Object.freeze({ ...o })];
        }),
      ),
    ),
    maxFixRounds: fixRounds,
    review: choice('REVIEW', raw.REVIEW, ['always', 'note'] as const),
    merge: choice('MERGE', raw.MERGE, ['none', 'ff', 'merge', 'squash'] as const),
    author: parseAuthor(raw.GIT_AUTHOR),
  });
}

/** SETUP and GATES for one repository (its real top folder): the override where there is one. */
export function commandsForRepo(cfg: WorkspaceConfig, repoRoot: string): RepoCommands {
  const o = cfg.overrides[repoRoot];
  return { setup: o?.setup ?? cfg.setup, gates: o?.gates ?? cfg.gates };
}

// Repositories are matched by their real path (preflight resolves symlinks), so keys are too.
function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
