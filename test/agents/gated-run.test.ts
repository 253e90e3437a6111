// FirstStartGate + gatedRun: one run goes first, the others start only after it printed (or ended);
// a run stopped while it waits never spawns. Real child processes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentOutcome, AgentRun } from '../../src/agents/agent.js';
import { FirstStartGate, gatedRun, spawnProcess, stoppedError, type GateRelease } from '../../src/agents/process/index.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vr-gate-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A real child: appends `name:start` to the log, prints a line (unless told not to), waits for
 *  its go file, appends `name:end` and exits. */
function child(name: string, release: GateRelease, opts: { print?: boolean } = {}): AgentRun & { go(): void } {
  const log = JSON.stringify(join(dir, 'log'));
  const goFile = join(dir, `go-${name}`);
  const code = `const fs=require('fs');fs.appendFileSync(${log},'${name}:start\\n');${opts.print ?? true ? `console.log('hello');` : ''}setInterval(()=>{if(fs.existsSync(${JSON.stringify(goFile)})){fs.appendFileSync(${log},'${name}:end\\n');process.exit(0)}},10);`;
  const h = spawnProcess({ program: process.execPath, args: ['-e', code], cwd: dir, stdin: '', env: { PATH: process.env.PATH }, onStdoutLine: () => release(true) });
  const outcome = h.exit.then((e): AgentOutcome => {
    release(false);
    return e.exitCode === 0 ? { ok: true, permissionDenials: [], exitCode: 0 } : { ok: false, error: stoppedError(name, e.stopReason ?? 'shutdown'), permissionDenials: [], exitCode: e.exitCode };
  });
  return Object.assign(h.control.run(outcome, name), { go: () => writeFileSync(goFile, '') });
}

const lines = () => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').trim().split('\n') : []);
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('FirstStartGate', () => {
  it('claims the first place in the tick it checks: of three waiters only one goes first, the others after it released', async () => {
    const gate = new FirstStartGate();
    const order: string[] = [];
    const a = await gate.enter();
    const waiters = ['b', 'c'].map((n) => gate.enter().then((r) => (order.push(n), r)));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    a(false); // ended without showing the setup done: exactly one of the others becomes the first
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['b']);
    const b = await waiters[0]!;
    b(true);
    const c = await waiters[1]!;
    expect(order).toEqual(['b', 'c']);
    c(false); // a warm gate lets everyone through: this does nothing
    expect(await Promise.race([gate.enter().then(() => 'in'), new Promise((r) => setTimeout(() => r('waiting'), 50))])).toBe('in');
  });
});

describe('gatedRun', () => {
  it('a second run spawns only after the first printed its first line', async () => {
    const gate = new FirstStartGate();
    const runs: Array<AgentRun & { go(): void }> = [];
    const start = (name: string) => gatedRun(gate.enter(), name, (r) => (runs.push(child(name, r)), runs.at(-1)!), (r) => r(false));
    const first = start('first');
    const second = start('second');
    await first.spawned;
    await second.spawned;
    expect(first.pid).toBeGreaterThan(0);
    expect(second.pid).toBeGreaterThan(0);
    await until(() => lines().length === 2);
    // the second started after the first had printed (it does so before its `start` line is read here)
    expect(lines()).toEqual(['first:start', 'second:start']);
    runs.forEach((r) => r.go());
    expect((await first.outcome).ok).toBe(true);
    expect((await second.outcome).ok).toBe(true);
  });

  it('a waiting run stopped before its turn never spawns and ends with the stop as its typed error; the next one still starts', async () => {
    const gate = new FirstStartGate();
    const spawnedNames: string[] = [];
    const skipped: string[] = [];
    const start = (name: string, print = true) =>
      gatedRun(
        gate.enter(),
        name,
        (r) => {
          spawnedNames.push(name);
          return child(name, r, { print });
        },
        (r) => {
          skipped.push(name);
          r(false);
        },
      );
    const first = start('first', false); // prints nothing: the others wait for its end
    const waiting = start('waiting');
    const third = start('third');
    await first.spawned;
    await waiting.stop('cancel', 1000);
    const o = await waiting.outcome;
    expect(o.ok).toBe(false);
    if (!o.ok) expect([o.error.code, o.error.retryable]).toEqual(['AGENT_STOPPED', false]);
    expect(waiting.pid).toBe(0);
    expect(spawnedNames).toEqual(['first']);
    await first.stop('pause', 1000);
    await third.spawned;
    expect(third.pid).toBeGreaterThan(0);
    expect(skipped).toEqual(['waiting']);
    expect(spawnedNames).toEqual(['first', 'third']);
    await third.stop('shutdown', 1000);
  });
});
