// kill -9 of the real service at chosen moments of the lifecycle, then a restart: every task
// still ends done, exactly once in Done/, and no two runs of one task overlap in time.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnService } from '../helpers/cli-process.js';
import { concurrency, createHarness, fixtureAgent, parseRunLog, waitFor } from '../helpers/vault-harness.js';
import { initVault } from '../../src/vault/init-vault.js';
import { NoteStore } from '../../src/vault/note-store.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function envFor(vault: string, runLog: string, fault?: string, sleepMs = 300): NodeJS.ProcessEnv {
  return {
    VAULT_DIR: vault,
    AGENT: 'ok',
    COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok') }),
    MAX_CONCURRENT: '2',
    EXECUTOR_INTERVAL: '200ms',
    WATCHDOG_INTERVAL: '200ms',
    ORCHESTRATOR_INTERVAL: '300ms',
    LEASE_TTL: '3s',
    KILL_GRACE: '300ms',
    FIXTURE_LOG: runLog,
    FIXTURE_SLEEP_MS: String(sleepMs),
    LOG_LEVEL: 'info',
    ...(fault ? { VAULTRUNNER_FAULT: fault } : {}),
  };
}

async function crashThenRecover(fault: string, tasks: number, sleepMs?: number) {
  root = mkdtempSync(join(tmpdir(), 'vr-crash-'));
  const vault = join(root, 'vault');
  const runLog = join(root, 'runs.log');
  writeFileSync(runLog, '');
  await initVault(vault, { examples: false });
  const ids = Array.from({ length: tasks }, (_, i) => `job-${i}`);
  for (const id of ids) writeFileSync(join(vault, 'Needs_Action', `${id}.md`), `---\ntype: claude_code\n---\nJob ${id}\n`);
  const first = spawnService([], { cwd: root, env: envFor(vault, runLog, fault, sleepMs) });
  const exit = await first.exited;
  expect(exit.signal, first.output()).toBe('SIGKILL');
  // What the dead service had recorded: an outcome journaled in a lease, or a note already done.
  const leasesDir = join(vault, '.vaultrunner', 'leases');
  const journaled = new Set<string>();
  for (const n of existsSync(leasesDir) ? readdirSync(leasesDir).filter((f) => f.endsWith('.json')) : []) {
    const lease = JSON.parse(readFileSync(join(leasesDir, n), 'utf8')) as { taskId: string; outcome?: unknown };
    if (lease.outcome) journaled.add(lease.taskId);
  }
  for (const id of ids) if (existsSync(join(vault, 'Done', `${id}.md`))) journaled.add(id);
  const second = spawnService([], { cwd: root, env: envFor(vault, runLog) });
  try {
    // Filed = in Done/ and gone from Needs_Action/ (a move links first, then removes the source).
    await waitFor(() => ids.every((id) => existsSync(join(vault, 'Done', `${id}.md`)) && !existsSync(join(vault, 'Needs_Action', `${id}.md`))), `all tasks done after ${fault}`, 30_000, 100);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
  const runs = parseRunLog(runLog);
  expect(concurrency(runs, (r) => r.task).overlaps).toEqual([]);
  const store = new NoteStore();
  for (const id of ids) {
    const r = await store.read(join(vault, 'Done', `${id}.md`));
    expect(r.ok && r.data.status).toBe('done');
  }
  // Exactly one copy of each note, nothing left behind in Needs_Action/.
  expect(readdirSync(join(vault, 'Done')).filter((n) => n.endsWith('.md')).sort()).toEqual(ids.map((i) => `${i}.md`).sort());
  expect(readdirSync(join(vault, 'Needs_Action')).filter((n) => n.endsWith('.md'))).toEqual([]);
  expect(readdirSync(join(vault, '.vaultrunner', 'leases')).filter((n) => n.endsWith('.json'))).toEqual([]);
  return { runs, journaled, log: readFileSync(runLog, 'utf8') };
}

describe('kill -9 and restart', () => {
  for (const fault of ['before-claim', 'after-claim', 'mid-run', 'after-outcome', 'after-final-write']) {
    it(`recovers every task when the service dies ${fault}`, async () => {
      const { runs, journaled } = await crashThenRecover(fault, 3);
      // The service died right after recording a run's outcome (journaled in the lease, or
      // written to the note): that task is never run again. Others, cut off mid-run, may rerun.
      if (fault === 'after-outcome' || fault === 'after-final-write') {
        expect(journaled.size).toBeGreaterThan(0);
        for (const id of journaled) expect(runs.filter((r) => r.task === id), id).toHaveLength(1);
      }
    }, 60_000);
  }

  it('finds and stops an agent whose pid never reached the lease (killed right after spawn)', async () => {
    // The orphan would sleep 15 s: without being found by its run marker it would still be running
    // when the restarted service runs the task again (the re-run sleeps the usual 300 ms).
    const { runs } = await crashThenRecover('after-spawn', 1, 15_000);
    const first = runs.find((r) => r.task === 'job-0')!;
    expect(runs.filter((r) => r.task === 'job-0')).toHaveLength(2);
    expect(first.end! - first.start).toBeLessThan(12_000); // stopped, not finished
  }, 60_000);

  it('clears the temp files a crash left in its state folders, and nothing else there', async () => {
    const h = createHarness();
    root = h.root;
    const state = join(h.vault, '.vaultrunner');
    await initVault(h.vault, { examples: false });
    for (const d of ['leases', 'tasks']) mkdirSync(join(state, d), { recursive: true });
    writeFileSync(join(state, 'leases', '.a.json.0123abcd.tmp'), '{"taskId":');
    writeFileSync(join(state, 'tasks', '.b.json.89abcdef.tmp'), '');
    writeFileSync(join(state, 'tasks', 'b.json'), '{"failures":1}\n');
    try {
      await h.start();
      expect(readdirSync(join(state, 'leases'))).toEqual([]);
      expect(readdirSync(join(state, 'tasks'))).toEqual(['b.json']);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});
