// A temp vault for CLI tests: the real binary (dist/cli.js) run against it with a controlled env
// (HOME inside the temp dir, no credentials, fake agent CLIs that only print a version).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { VAULT_FOLDERS } from '../../src/vault/layout.js';
import { CLI, cleanEnv, runCli } from './cli-process.js';
import { waitFor } from './wait.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliVault {
  /** Temp dir: the CLI's cwd, HOME is `<root>/home`, WORKSPACE_ROOTS is `<root>/work`. */
  root: string;
  vault: string;
  home: string;
  work: string;
  /** Fake claude binary printing a version. */
  claudeBin: string;
  env: Record<string, string>;
  run(args: string[], opts?: { env?: Record<string, string>; input?: string }): CliResult;
  /** Same, without blocking the test process (so several can run at once). */
  runAsync(args: string[], opts?: { env?: Record<string, string>; input?: string }): Promise<CliResult>;
  spawn(args: string[], opts?: { env?: Record<string, string> }): SpawnedCli;
  /** Run with a stdout whose reader goes away: `| head -n <head>`, or (no head) closed before the CLI writes. */
  runClosedStdout(args: string[], opts?: { head?: number; env?: Record<string, string> }): Promise<CliResult>;
  /** Write a file at a vault-relative path (folders created); returns the absolute path. */
  write(rel: string, text: string): string;
  /** A task note `<folder>/<name>.md` from frontmatter lines and a body. */
  task(name: string, frontmatter: string, body?: string, folder?: string): string;
  read(rel: string): string;
  path(rel: string): string;
  cleanup(): void;
}

export interface SpawnedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function createCliVault(opts: { env?: Record<string, string> } = {}): CliVault {
  const root = mkdtempSync(join(tmpdir(), 'vr-cli-'));
  const vault = join(root, 'vault');
  const home = join(root, 'home');
  const work = join(root, 'work');
  for (const f of VAULT_FOLDERS) mkdirSync(join(vault, f), { recursive: true });
  mkdirSync(home, { recursive: true });
  mkdirSync(work, { recursive: true });
  const fakeCli = (name: string, version: string) => {
    const bin = join(root, `fake-${name}`);
    writeFileSync(bin, `#!/bin/sh\necho "${version}"\n`);
    chmodSync(bin, 0o755);
    return bin;
  };
  const claudeBin = fakeCli('claude', '2.1.0 (Claude Code)');
  // The other CLIs answer --version as fakes too (`gemini --version` alone takes seconds); a test
  // about a real one sets its *_BIN to '' (the installed binary).
  const agentBins = { CODEX_BIN: fakeCli('codex', 'codex-cli 0.171.0'), GEMINI_BIN: fakeCli('gemini', '0.61.0'), OPENCODE_BIN: fakeCli('opencode', '1.18.33') };
  const env: Record<string, string> = { VAULT_DIR: vault, HOME: home, WORKSPACE_ROOTS: work, CLAUDE_BIN: claudeBin, ...agentBins, ...opts.env };
  // From cleanEnv(): a developer's exported settings never reach the CLI under test.
  const fullEnv = (extra?: Record<string, string>): NodeJS.ProcessEnv => ({ ...cleanEnv(), ...env, ...extra });
  const v: CliVault = {
    root,
    vault,
    home,
    work,
    claudeBin,
    env,
    run: (args, o = {}) => runCli(args, { cwd: root, env: fullEnv(o.env), input: o.input }),
    runAsync: (args, o = {}) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: definedOnly(fullEnv(o.env)), stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += String(d)));
        child.stderr.on('data', (d) => (stderr += String(d)));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        // A CLI that exits before reading stdin (a bad flag, a missing file) closes the pipe: EPIPE is no failure.
        child.stdin.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
        child.stdin.end(o.input ?? '');
      }),
    spawn(args, o = {}) {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: definedOnly(fullEnv(o.env)), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += String(d)));
      child.stderr!.on('data', (d) => (err += String(d)));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      return { child, stdout: () => out, stderr: () => err, exited };
    },
    runClosedStdout: (args, o = {}) =>
      new Promise((resolve) => {
        // `| head -n N`: a real head reads N lines and exits; without N, our end closes before the CLI writes.
        const head = o.head ? spawn('head', ['-n', String(o.head)], { stdio: ['pipe', 'pipe', 'ignore'] }) : undefined;
        const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: definedOnly(fullEnv(o.env)), stdio: ['ignore', head ? head.stdin : 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        if (head) {
          head.stdin.destroy(); // the CLI holds the pipe's write end now; head alone reads it
          head.stdout.on('data', (d) => (stdout += String(d)));
        } else child.stdout!.destroy(); // its next write gets EPIPE
        child.stderr!.on('data', (d) => (stderr += String(d)));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      }),
    write(rel, text) {
      const p = join(vault, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      return p;
    },
    task(name, frontmatter, body = 'Do the thing.\n', folder = 'Needs_Action') {
      return v.write(`${folder}/${name}.md`, `---\n${frontmatter.trim()}\n---\n${body}`);
    },
    read: (rel) => readFileSync(join(vault, rel), 'utf8'),
    path: (rel) => join(vault, rel),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  return v;
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(env)) if (val !== undefined) out[k] = val;
  return out;
}

/** The suite's one wait helper, for callers that only need a condition. */
export async function waitUntil(fn: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(fn, what, timeoutMs, 25);
}
