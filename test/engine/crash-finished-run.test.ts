// Finished work is never redone after a crash: the real service is killed with -9 while the REAL
// claude CLI waits on our scripted model; the model then answers, the agent finishes with no
// service watching, and the restarted service records that result from the run's output file
// instead of running the task again. And a full disk while recording an outcome is waited out.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/config.js';
import { groupRunning } from '../../src/os/process.js';
import { initVault } from '../../src/vault/init-vault.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { stateFileName } from '../../src/vault/state-key.js';
import { claudeTestEnv, startModelServer, text, type ModelServer } from '../fixtures/model-server.js';
import { spawnService, type ServiceProcess } from '../helpers/cli-process.js';
import { fixtureAgent, parseRunLog, waitFor } from '../helpers/vault-harness.js';

const CLAUDE = join(PACKAGE_ROOT, 'node_modules', '.bin', 'claude');
let root: string;
let server: ModelServer | undefined;
const services: ServiceProcess[] = [];

afterEach(async () => {
  for (const s of services.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }
  await server?.close();
  server = undefined;
  rmSync(root, { recursive: true, force: true });
});

const common = { WATCHDOG_INTERVAL: '200ms', EXECUTOR_INTERVAL: '200ms', ORCHESTRATOR_INTERVAL: '300ms', LEASE_TTL: '2s', KILL_GRACE: '300ms', LOG_LEVEL: 'info' };

function start(env: NodeJS.ProcessEnv): ServiceProcess {
  const s = spawnService([], { cwd: root, env });
  services.push(s);
  return s;
}

async function vaultIn(root: string): Promise<string> {
  const vault = join(root, 'vault');
  await initVault(vault, { examples: false });
  return vault;
}

describe('a run that ends while the service is down', () => {
  it('is recorded from its output file after the restart, not run again (real claude)', async () => {
    root = mkdtempSync(join(tmpdir(), 'vr-finished-'));
    const vault = await vaultIn(root);
    let release!: () => void;
    const answer = new Promise<void>((res) => (release = res));
    let asked!: () => void;
    const waiting = new Promise<void>((res) => (asked = res));
    server = await startModelServer({
      handler: async (req) => {
        if (!req.text.includes('Say that it is finished.')) return text('ok');
        asked();
        await answer; // the model answers only once the service is dead
        return text('It is finished.');
      },
    });
    const home = join(root, 'home');
    const env = { ...claudeTestEnv(server.url, home), VAULT_DIR: vault, AGENT: 'claude', CLAUDE_BIN: CLAUDE, PERMISSION_MODE: 'acceptEdits', ...common };
    writeFileSync(join(vault, 'Needs_Action', 'finish-alone.md'), '---\ntype: claude_code\n---\nSay that it is finished.\n');

    const first = start(env);
    await waiting;
    const leaseFile = join(vault, '.vaultrunner', 'leases', stateFileName('finish-alone'));
    const lease = await waitFor(() => {
      const l = existsSync(leaseFile) ? (JSON.parse(readFileSync(leaseFile, 'utf8')) as { run?: { pid: number; output?: string } }) : undefined;
      return l?.run?.pid && l.run.output ? l.run : undefined;
    }, 'the agent pid and output file in the lease', 20_000, 50);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    release(); // the agent gets its answer and finishes, with no service watching
    await waitFor(() => !groupRunning(lease.pid), 'the orphaned claude to finish on its own', 30_000, 50);
    const out = readFileSync(join(vault, '.vaultrunner', 'output', `${lease.output}.out`), 'utf8');
    expect(out).toContain('"type":"result"');

    const second = start(env);
    await waitFor(() => existsSync(join(vault, 'Done', 'finish-alone.md')), 'the task done after the restart', 30_000, 100);
    const note = await new NoteStore().read(join(vault, 'Done', 'finish-alone.md'));
    expect(note.ok && note.data.status).toBe('done');
    expect(note.ok && note.data.attempts).toBe(1);
    // Asked once: the task was not sent to the model again.
    expect(server.messageRequests().filter((r) => r.text.includes('Say that it is finished.'))).toHaveLength(1);
    const transcript = readFileSync(join(vault, 'Logs', 'runs', 'finish-alone', 'attempt-1.md'), 'utf8');
    expect(transcript).toContain('its result was read from the run');
    expect(existsSync(join(vault, 'Logs', 'runs', 'finish-alone', 'attempt-2.md'))).toBe(false);
    expect(second.output()).toContain('recording the result of a run that ended while the service was down');
    // Recorded: the output files go (just after the note is filed, so a crash between keeps them).
    await waitFor(() => readdirSync(join(vault, '.vaultrunner', 'output')).length === 0, 'the output files removed', 10_000, 50);
  }, 120_000);
});

describe('a full disk while recording an outcome', () => {
  it('is waited out: the outcome is recorded once there is room, and the task runs once', async () => {
    root = mkdtempSync(join(tmpdir(), 'vr-enospc-'));
    const vault = await vaultIn(root);
    const runLog = join(root, 'runs.log');
    writeFileSync(runLog, '');
    const ids = ['full-1', 'full-2'];
    for (const id of ids) writeFileSync(join(vault, 'Needs_Action', `${id}.md`), `---\ntype: claude_code\n---\nJob ${id}\n`);
    const s = start({
      VAULT_DIR: vault,
      AGENT: 'ok',
      COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok') }),
      MAX_CONCURRENT: '2',
      FIXTURE_LOG: runLog,
      FIXTURE_SLEEP_MS: '100',
      // The first three attempts to record an outcome find the disk full.
      VAULTRUNNER_FAULT_ENOSPC: 'record-outcome:3',
      ...common,
    });
    await waitFor(() => ids.every((id) => existsSync(join(vault, 'Done', `${id}.md`))), 'both tasks done', 45_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n${s.output().slice(-3000)}`);
    });
    const runs = parseRunLog(runLog);
    for (const id of ids) expect(runs.filter((r) => r.task === id), id).toHaveLength(1);
    expect(s.output()).toContain('the disk is full while recording the outcome');
    for (const id of ids) {
      const note = await new NoteStore().read(join(vault, 'Done', `${id}.md`));
      expect(note.ok && note.data.attempts).toBe(1);
    }
  }, 60_000);
});
