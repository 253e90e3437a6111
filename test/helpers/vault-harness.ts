// A real temp vault with a real service running in-process, and fixture agents as real children.
import type { Notifier } from '../../src/notify/notifier.js';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config, type ConfigKey } from '../../src/config/config.js';
import type { WorkspaceConfigKey } from '../../src/config/workspace-config.js';
import { EngineEvents } from '../../src/engine/events.js';
import { createLogger } from '../../src/log/logger.js';
import { startService, type RunningService, type ServiceOptions } from '../../src/service/service.js';
import { initVault } from '../../src/vault/init-vault.js';
import { findNote } from './find-note.js';

export { eventsFrom, nextEvent, recordEvents, waitFor, type Truthy } from './wait.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'agents');
export const fixtureAgent = (name: string) => [process.execPath, join(FIXTURES, `${name}.mjs`)];

export interface Harness {
  root: string;
  vault: string;
  runLog: string;
  config: Config;
  /** The engine's events; created with the harness, so a test can listen before start(). */
  events: EngineEvents;
  service?: RunningService;
  start(): Promise<RunningService>;
  stop(): Promise<void>;
  drop(name: string, frontmatter: string, body?: string, folder?: string): string;
  read(path: string): string;
  find(id: string): { folder: string; path: string; text: string } | undefined;
  status(id: string): string | undefined;
  runs(): RunRecord[];
  logLines(): Record<string, unknown>[];
  cleanup(): void;
}

export interface RunRecord {
  task: string;
  attempt: number;
  pid: number;
  start: number;
  end?: number;
}

const AGENTS = { ok: fixtureAgent('ok'), fail: fixtureAgent('fail'), hang: fixtureAgent('hang'), stubborn: fixtureAgent('ignore-term'), session: fixtureAgent('session') };

export function createHarness(overrides: Partial<Record<ConfigKey | WorkspaceConfigKey, string>> = {}, opts: { examples?: boolean; agentEnv?: Record<string, string>; invalidSettleMs?: number; notifier?: Notifier; service?: Pick<ServiceOptions, 'index' | 'createWatcher' | 'agents'> } = {}): Harness {
  const root = mkdtempSync(join(tmpdir(), 'vr-test-'));
  const vault = join(root, 'vault');
  const runLog = join(root, 'runs.log');
  writeFileSync(runLog, '');
  const env: Record<string, string> = {
    VAULT_DIR: vault,
    ORCHESTRATOR_INTERVAL: '300ms',
    EXECUTOR_INTERVAL: '200ms',
    WATCHDOG_INTERVAL: '200ms',
    RETRY_BACKOFF: '100ms',
    KILL_GRACE: '500ms',
    LEASE_TTL: '3s',
    AGENT: 'ok',
    COMMAND_AGENTS: JSON.stringify(AGENTS),
    WORKSPACE_ROOTS: root,
    // Worktrees of tasks in git repositories: in the temp dir, outside the vault.
    WORKTREES_DIR: join(root, 'worktrees'),
    LOG_LEVEL: 'debug',
    ...overrides,
  };
  const config = loadConfig(env, {}, root);
  const events = new EngineEvents();
  const h: Harness = {
    root,
    vault,
    runLog,
    config,
    events,
    async start() {
      await initVault(vault, { examples: opts.examples ?? false });
      const { logger } = createLogger({ vaultDir: vault, level: 'debug', console: false });
      h.service = await startService({ config, logger, env: { ...process.env, FIXTURE_LOG: runLog, ...opts.agentEnv }, heartbeatMs: 1000, shutdownGraceMs: 500, invalidSettleMs: opts.invalidSettleMs ?? 300, events, notifier: opts.notifier, ...opts.service });
      return h.service;
    },
    async stop() {
      await h.service?.stop({ graceMs: 200 });
      h.service = undefined;
    },
    drop(name, frontmatter, body = 'Do the thing.\n', folder = 'Needs_Action') {
      const path = join(vault, folder, `${name}.md`);
      // Write under a temp name and rename, like an editor: the watcher sees one complete note.
      const tmp = join(vault, folder, `.${name}.drop.tmp`);
      writeFileSync(tmp, `---\n${frontmatter.trim()}\n---\n${body}`);
      renameSync(tmp, path);
      return path;
    },
    read: (path) => readFileSync(path, 'utf8'),
    find: (id) => findNote(vault, id),
    status(id) {
      const f = h.find(id);
      if (!f) return undefined;
      return /^status: *"?([a-z_]+)"?/m.exec(f.text)?.[1] ?? 'new';
    },
    runs: () => parseRunLog(runLog),
    logLines() {
      const dir = join(vault, 'Logs');
      return readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return h;
}

/** The fixture agents append `start <task> <attempt> <pid> <ms>` / `end …` lines. */
export function parseRunLog(path: string): RunRecord[] {
  const runs: RunRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [kind, task, attempt, pid, ms] = line.split(' ');
    if (kind === 'start') runs.push({ task: task!, attempt: Number(attempt), pid: Number(pid), start: Number(ms) });
    if (kind === 'end') {
      const r = runs.find((x) => x.pid === Number(pid) && x.end === undefined);
      if (r) r.end = Number(ms);
    }
  }
  return runs;
}

/** Largest number of runs alive at one moment, and any two runs of one task that overlapped. */
export function concurrency(runs: RunRecord[], key: (r: RunRecord) => string = () => ''): { peak: number; overlaps: [RunRecord, RunRecord][] } {
  const events = runs.flatMap((r) => [
    { t: r.start, d: 1, r },
    { t: r.end ?? Number.MAX_SAFE_INTEGER, d: -1, r },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let cur = 0;
  let peak = 0;
  for (const e of events) peak = Math.max(peak, (cur += e.d));
  const overlaps: [RunRecord, RunRecord][] = [];
  for (let i = 0; i < runs.length; i++)
    for (let j = i + 1; j < runs.length; j++) {
      const a = runs[i]!;
      const b = runs[j]!;
      if (key(a) !== key(b)) continue;
      if (a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity)) overlaps.push([a, b]);
    }
  return { peak, overlaps };
}

export function appendBody(path: string, line: string): void {
  appendFileSync(path, line);
}
