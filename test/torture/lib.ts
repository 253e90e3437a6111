// Shared by the torture scenarios (test/torture/*.test.ts with short sizes, scripts/soak.ts with
// big ones): temp vaults, the real CLI as a child process, and checks that return problems as
// plain strings, so vitest can expect([]) them and the soak can print them.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, type ServiceProcess } from '../helpers/cli-process.js';
import { concurrency, fixtureAgent, parseRunLog, type RunRecord } from '../helpers/vault-harness.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { isAlive, isZombie } from '../../src/os/process.js';

export const FOLDERS = ['Needs_Action', 'Pending_Approval', 'Done', 'Plans'] as const;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface TortureVault {
  root: string;
  vault: string;
  runLog: string;
  /** Environment for the service: short intervals, the given agents, FIXTURE_LOG. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  start(extra?: Record<string, string>): ServiceProcess;
  cleanup(): void;
}

export function tortureVault(prefix: string, agents: Record<string, string[]> = { ok: fixtureAgent('ok-logged') }, base: Record<string, string> = {}): TortureVault {
  const root = mkdtempSync(join(tmpdir(), `vr-torture-${prefix}-`));
  const vault = join(root, 'vault');
  for (const f of [...FOLDERS, 'Logs', 'Templates']) mkdirSync(join(vault, f), { recursive: true });
  const runLog = join(root, 'runs.log');
  writeFileSync(runLog, '');
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    VAULT_DIR: vault,
    AGENT: Object.keys(agents)[0]!,
    COMMAND_AGENTS: JSON.stringify(agents),
    MAX_CONCURRENT: '4',
    ORCHESTRATOR_INTERVAL: '500ms',
    EXECUTOR_INTERVAL: '300ms',
    WATCHDOG_INTERVAL: '200ms',
    LEASE_TTL: '3s',
    KILL_GRACE: '500ms',
    RETRY_BACKOFF: '200ms',
    MAX_ATTEMPTS: '5',
    LOG_LEVEL: 'info',
    WORKSPACE_ROOTS: root,
    FIXTURE_LOG: runLog,
    ...base,
    ...extra,
  });
  return {
    root,
    vault,
    runLog,
    env,
    start: (extra) => spawnService([], { cwd: root, env: env(extra) }),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function taskNote(frontmatter: string, body = 'Do the thing.\n'): string {
  return `---\n${frontmatter.trim()}\n---\n${body}`;
}

/** Wait for the service's "vaultrunner started" line; throws with its output if it exits first. */
export async function ready(svc: ServiceProcess, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!svc.output().includes('vaultrunner started')) {
    if (svc.child.exitCode !== null || svc.child.signalCode !== null) throw new Error(`service exited before ready:\n${svc.output()}`);
    if (Date.now() > until) throw new Error(`service not ready after ${timeoutMs} ms:\n${svc.output()}`);
    await sleep(20);
  }
}

export async function until(cond: () => boolean, what: string, timeoutMs: number, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function stop(svc: ServiceProcess): Promise<void> {
  if (svc.child.exitCode !== null || svc.child.signalCode !== null) return;
  svc.child.kill('SIGTERM');
  const t = setTimeout(() => svc.child.kill('SIGKILL'), 20_000);
  await svc.exited;
  clearTimeout(t);
}

export async function kill9(svc: ServiceProcess): Promise<void> {
  svc.child.kill('SIGKILL');
  await svc.exited;
}

/** Every `.md` (not dot-file) in the task folders, by id (file name without .md). */
export function inventory(vault: string, folders: readonly string[] = ['Needs_Action', 'Pending_Approval', 'Done']): Map<string, { folder: string; path: string }[]> {
  const out = new Map<string, { folder: string; path: string }[]>();
  for (const folder of folders) {
    const dir = join(vault, folder);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.md') || name.startsWith('.')) continue;
      const id = name.slice(0, -3);
      out.set(id, [...(out.get(id) ?? []), { folder, path: join(dir, name) }]);
    }
  }
  return out;
}

export const countIn = (vault: string, folder: string) => readdirSync(join(vault, folder)).filter((n) => n.endsWith('.md') && !n.startsWith('.')).length;

/** Notes (task folders and Plans/) that no longer parse. */
export async function unparseable(vault: string): Promise<string[]> {
  const store = new NoteStore();
  const bad: string[] = [];
  for (const entries of inventory(vault, FOLDERS).values()) {
    for (const e of entries) {
      const r = await store.read(e.path);
      if (!r.ok) bad.push(`${e.folder}/${e.path.split('/').pop()}: ${r.error.message}`);
    }
  }
  return bad;
}

/** Runs of one task that overlapped in time, and runs that never logged their end. */
export function runProblems(runLog: string): string[] {
  const runs = parseRunLog(runLog);
  const out: string[] = [];
  for (const [a, b] of concurrency(runs, (r) => r.task).overlaps) out.push(`overlap: ${fmt(a)} and ${fmt(b)}`);
  for (const r of runs) if (r.end === undefined) out.push(`run never ended: ${fmt(r)}`);
  return out;
}

const fmt = (r: RunRecord) => `${r.task}#${r.attempt} pid ${r.pid} [${r.start}, ${r.end ?? '…'}]`;

/** Is this fixture agent of ours still running? (The run log's path in its environment tells a
 *  reused pid apart; without /proc the pid alone is trusted.) */
export function agentAlive(pid: number, runLog: string): boolean {
  if (!isAlive(pid) || isZombie(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`FIXTURE_LOG=${runLog}`);
  } catch {
    return !existsSync('/proc/self/environ');
  }
}

export const sha1 = (buf: Buffer | string) => createHash('sha1').update(buf).digest('hex');

/** JSON log lines of the service(s) in vault/Logs/. */
export function logLines(vault: string): Record<string, unknown>[] {
  const dir = join(vault, 'Logs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    );
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScenarioReport {
  name: string;
  problems: string[];
  facts: Record<string, unknown>;
}
