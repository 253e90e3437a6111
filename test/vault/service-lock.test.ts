// Many services starting at once on a vault with a stale lock (its owner died): exactly one gets
// it. Real processes, real files; each round is a separate lock so that one run tries many times.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { acquireServiceLock, inspectLock } from '../../src/vault/service-lock.js';

const CONTENDER = join(import.meta.dirname, 'lock-contender.ts');
let dir: string;
let children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children = [];
  rmSync(dir, { recursive: true, force: true });
});

/** A lock left by a process that has exited (its pid is dead). */
function staleLock(path: string, deadPid: number) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify({ owner: { host: hostname(), pid: deadPid, pidStart: '1' }, startedAt: 1, heartbeatAt: 1 }));
}

it('of many processes starting together on a stale lock, exactly one gets it, every time', { timeout: 120_000 }, async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-lock-'));
  const ROUNDS = 40;
  const PROCS = 6;
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  for (let r = 0; r < ROUNDS; r++) staleLock(join(dir, `lock-${r}`, 'service.lock'), dead);

  const results: { pid: number; won: number[]; errors: string[] }[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<void>[] = [];
  for (let i = 0; i < PROCS; i++) {
    const c = spawn(process.execPath, ['--import', 'tsx', CONTENDER, dir, String(ROUNDS)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(c);
    const lines = createInterface({ input: c.stdout! });
    ready.push(new Promise((resolve) => lines.once('line', () => resolve())));
    done.push(new Promise((resolve) => lines.on('line', (l) => l.startsWith('{') && (results.push(JSON.parse(l)), resolve()))));
  }
  await Promise.all(ready);
  for (const c of children) c.stdin!.write('go\n');
  await Promise.all(done); // every contender still alive, holding what it won

  expect(results.flatMap((r) => r.errors)).toEqual([]);
  for (let r = 0; r < ROUNDS; r++) {
    const winners = results.filter((x) => x.won.includes(r)).map((x) => x.pid);
    expect(winners, `round ${r}`).toHaveLength(1);
    const lock = await inspectLock(join(dir, `lock-${r}`, 'service.lock'));
    expect(lock.state).toBe('held');
    expect(lock.info!.owner.pid).toBe(winners[0]);
    // The takeover leaves nothing behind but the lock.
    expect(readdirSync(join(dir, `lock-${r}`))).toEqual(['service.lock']);
  }
});

it('a stale lock whose takeover was left half-done by a crashed contender is still taken', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-lock-'));
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const path = join(dir, 'service.lock');
  staleLock(path, dead);
  // A contender that died right after claiming the takeover: its marker names a dead owner.
  const lock = await acquireServiceLock(path);
  expect((await inspectLock(path)).info?.owner.pid).toBe(process.pid);
  await lock.release();
  staleLock(path, dead);
  const { lstatSync, readFileSync } = await import('node:fs');
  const { createHash } = await import('node:crypto');
  const id = `${lstatSync(path).ino}-${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`;
  writeFileSync(`${path}.takeover-${id}.0`, JSON.stringify({ owner: { host: hostname(), pid: dead, pidStart: '1' }, at: 1 }));
  const again = await acquireServiceLock(path);
  expect((await inspectLock(path)).info?.owner.pid).toBe(process.pid);
  expect(readdirSync(dir)).toEqual(['service.lock']);
  await again.release();
});
