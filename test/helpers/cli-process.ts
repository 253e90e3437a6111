// The real CLI as a child process, for tests that kill it, signal it or read its output.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULTS } from '../../src/config/config.js';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

export function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...cleanEnv(), ...opts.env }, input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same without blocking this process (an in-process service keeps its timers running). */
export function runCliAsync(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...cleanEnv(), ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A CLI that exits before reading stdin (a bad flag, a missing file) closes the pipe: EPIPE is no failure.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
    child.stdin.end(opts.input ?? '');
  });
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

/** The parent's env minus what would change the CLI under test: every config key (the public
 *  contract in DEFAULTS), our own VAULTRUNNER_* hooks, and an enclosing Claude session's or a
 *  developer's Claude settings. Tests pass what they need explicitly. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !isLeaky(k)) env[k] = v;
  return env;
}

const isLeaky = (k: string) => k in DEFAULTS || /^(VAULTRUNNER_\w+|CLAUDECODE|CLAUDE_CONFIG_DIR|ANTHROPIC_\w+)$/.test(k);
