// The real CLI as a child process, for tests that kill it, signal it or read its output.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

export function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...cleanEnv(), ...opts.env }, input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnService(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): ServiceProcess {
  const child = spawn(process.execPath, [CLI, 'start', ...args], { cwd: opts.cwd, env: { ...cleanEnv(), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

/** The parent's env minus vaultrunner settings a developer may have exported. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(VAULT_DIR|EXECUTOR_\w+|MAX_CONCURRENT|TASK_TIMEOUT|ORCHESTRATOR_\w+|WATCHDOG_\w+|PLANNER|AGENT|COMMAND_AGENTS|WORKSPACE_ROOTS|VAULTRUNNER_FAULT|CLAUDECODE|RETRY_BACKOFF|MAX_ATTEMPTS|LOG_LEVEL|KILL_GRACE|LEASE_TTL|PERMISSION_MODE|CLAUDE_BIN)$/.test(k)) delete env[k];
  return env;
}
