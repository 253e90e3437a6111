// The real CLI binary: version/help, init, start's config errors, the single-service lock, and
// graceful shutdown.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, spawnService } from '../helpers/cli-process.js';
import { fixtureAgent, parseRunLog, waitFor } from '../helpers/vault-harness.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => (root = mkdtempSync(join(tmpdir(), 'vr-cli-')));

describe('vaultrunner', () => {
  it('prints its version and help', () => {
    fresh();
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(runCli(['--version'], { cwd: root }).stdout.trim()).toBe(pkg.version);
    const help = runCli(['--help'], { cwd: root });
    expect(help.code).toBe(0);
    for (const c of ['init', 'start']) expect(help.stdout).toContain(c);
    const unknown = runCli(['frobnicate'], { cwd: root });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('init creates the layout and never overwrites an existing file', () => {
    fresh();
    const vault = join(root, 'v');
    expect(runCli(['init', vault], { cwd: root }).code).toBe(0);
    for (const f of ['Needs_Action', 'Plans', 'Done', 'Pending_Approval', 'Logs', 'Templates']) expect(existsSync(join(vault, f))).toBe(true);
    expect(readFileSync(join(vault, 'Templates', 'Task.md'), 'utf8')).toContain('type: claude_code');
    writeFileSync(join(vault, 'Templates', 'Task.md'), 'mine');
    const again = runCli(['init', vault], { cwd: root });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/kept\s+v\/Templates\/Task.md/);
    expect(readFileSync(join(vault, 'Templates', 'Task.md'), 'utf8')).toBe('mine');
  });

  it('start refuses an invalid config with exit code 2 and one line', () => {
    fresh();
    writeFileSync(join(root, '.env'), 'MAX_CONCURRENT=zero\n');
    const r = runCli(['start', '--vault', join(root, 'v')], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('vaultrunner: invalid configuration: MAX_CONCURRENT="zero" is not allowed; use a whole number from 1 to 256');
  });

  it('a second start on the same vault refuses while the first lives; after kill -9 a new one starts and finishes the work', async () => {
    fresh();
    const vault = join(root, 'v');
    const runLog = join(root, 'runs.log');
    writeFileSync(runLog, '');
    runCli(['init', vault, '--no-examples'], { cwd: root });
    const env = { COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok') }), AGENT: 'ok', FIXTURE_LOG: runLog, FIXTURE_SLEEP_MS: '10000', WATCHDOG_INTERVAL: '200ms' }; // long enough that the kill lands mid-run, however slow the second start is
    writeFileSync(join(vault, 'Needs_Action', 'slow.md'), '---\ntype: claude_code\n---\nslow\n');
    const first = spawnService(['--vault', vault], { cwd: root, env });
    await waitFor(() => parseRunLog(runLog).length === 1, 'first service running the task');
    const second = runCli(['start', '--vault', vault], { cwd: root, env });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another vaultrunner is already running on this vault \(pid \d+/);
    first.child.kill('SIGKILL');
    await first.exited;
    const third = spawnService(['--vault', vault], { cwd: root, env: { ...env, FIXTURE_SLEEP_MS: '0' } });
    try {
      await waitFor(() => existsSync(join(vault, 'Done', 'slow.md')), 'task done after restart', 20_000);
    } finally {
      third.child.kill('SIGTERM');
      await third.exited;
    }
    const runs = parseRunLog(runLog);
    expect(runs).toHaveLength(2);
    // The orphan of the killed service was stopped before the task ran again.
    expect(runs[0]!.end === undefined || runs[0]!.end <= runs[1]!.start).toBe(true);
  }, 60_000);

  it('SIGTERM stops claiming, stops running agents after the grace period, and releases their leases', async () => {
    fresh();
    const vault = join(root, 'v');
    const runLog = join(root, 'runs.log');
    writeFileSync(runLog, '');
    runCli(['init', vault, '--no-examples'], { cwd: root });
    writeFileSync(join(vault, 'Needs_Action', 'long.md'), '---\ntype: claude_code\n---\nlong\n');
    const svc = spawnService(['--vault', vault], { cwd: root, env: { COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok') }), AGENT: 'ok', FIXTURE_LOG: runLog, FIXTURE_SLEEP_MS: '60000' } });
    await waitFor(() => parseRunLog(runLog).length === 1, 'running');
    svc.child.kill('SIGTERM');
    const exit = await svc.exited;
    expect(exit.code).toBe(0);
    const note = readFileSync(join(vault, 'Needs_Action', 'long.md'), 'utf8');
    expect(note).toMatch(/^status: planned$/m); // will resume on the next start
    expect(readdirSync(join(vault, '.vaultrunner', 'leases')).filter((n) => n.endsWith('.json'))).toEqual([]);
    expect(existsSync(join(vault, '.vaultrunner', 'service.lock'))).toBe(false);
    expect(svc.output()).toContain('shutting down');
  }, 60_000);
});
