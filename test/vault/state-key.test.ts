// Machine-state file names stay bounded and distinct whatever a task is called: a 31-character
// Chinese title or a 200-character name used to give ENAMETOOLONG and stop every dispatch pass.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStateStore } from '../../src/lifecycle/task-state.js';
import { LeaseStore } from '../../src/vault/lease-store.js';
import { STATE_KEY_PREFIX_BYTES, stateFileName, stateKey } from '../../src/vault/state-key.js';

const CHINESE = '修复登录页面在移动设备上无法正常显示的问题并添加相应的单元测试用例'.slice(0, 31);
const LONG = `${'a-rather-long-task-name-'.repeat(8)}end`.slice(0, 200);
const NAMES = [CHINESE, LONG, 'é'.repeat(120), '🙂'.repeat(60), '.hidden', 'a b', 'a_b', 'a?b', 'a%3Fb', 'CON', 'x'.repeat(252)];

let dir: string;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('stateKey', () => {
  it('is bounded, readable and never a dot-file', () => {
    expect(Buffer.byteLength(CHINESE)).toBe(93);
    for (const id of NAMES) {
      const key = stateKey(id);
      expect(Buffer.byteLength(key), id).toBeLessThanOrEqual(73);
      expect(key.startsWith('.'), id).toBe(false);
      expect(key).toMatch(/^[\p{L}\p{N}_-]+-[0-9a-f]{24}$/u);
    }
    expect(stateKey(CHINESE).startsWith('修复登录页面在移动设备上无法正常')).toBe(true);
    expect(stateKey('fix-the-bug')).toMatch(/^fix-the-bug-[0-9a-f]{24}$/);
  });

  it('differs for ids that read alike', () => {
    const ids = ['a b', 'a_b', 'a?b', 'a%3Fb', 'a  b', `${LONG}x`, `${LONG}y`, '\u00e9', 'e\u0301'];
    expect(new Set(ids.map(stateKey)).size).toBe(ids.length);
  });
});

describe('state files of long and non-ASCII task names, on disk', () => {
  it('leases: acquire, update, list and release work for every name', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-key-'));
    const store = new LeaseStore(dir, 60_000);
    for (const id of NAMES) {
      const lease = await store.acquire(id, 1);
      expect(lease, id).toBeDefined();
      expect(await store.update(lease!, { attempt: 2 })).toBe(true);
      expect((await store.get(id))?.attempt).toBe(2);
    }
    expect((await store.list()).map((l) => l.taskId).sort()).toEqual([...NAMES].sort());
    for (const id of NAMES) await store.release((await store.get(id))!);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('task state: patch, get and clear work for every name', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-key-'));
    const store = new TaskStateStore(dir);
    for (const [i, id] of NAMES.entries()) await store.patch(id, { failures: i + 1 });
    const fresh = new TaskStateStore(dir);
    for (const [i, id] of NAMES.entries()) expect((await fresh.get(id)).failures, id).toBe(i + 1);
    for (const id of NAMES) await fresh.clear(id);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('state kept under the old percent-encoded names is found and takes the new name', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-key-'));
    writeFileSync(join(dir, `${encodeURIComponent('a?b')}.json`), '{"failures":3}\n');
    expect((await new TaskStateStore(dir).get('a?b')).failures).toBe(3);
    expect(readdirSync(dir)).toEqual([stateFileName('a?b')]);

    const leases = join(dir, 'leases');
    const store = new LeaseStore(leases, 60_000);
    await store.acquire('x', 1);
    const own = join(leases, stateFileName('x'));
    const legacy = join(leases, `${encodeURIComponent('old run')}.json`);
    writeFileSync(legacy, JSON.stringify({ ...(await store.get('x')), taskId: 'old run' }));
    expect((await store.list()).map((l) => l.taskId).sort()).toEqual(['old run', 'x']);
    expect(existsSync(legacy)).toBe(false);
    expect(existsSync(own)).toBe(true);
    await store.forceRemove('old run');
    expect(readdirSync(leases)).toEqual([stateFileName('x')]);
  });
});

describe('stateKey fast path', () => {
  // The general rule, written out again: letters and digits of any script stay, the rest is '_'.
  function generalKey(id: string): string {
    let prefix = '';
    let bytes = 0;
    for (const ch of id.normalize('NFC')) {
      const c = /[\p{L}\p{N}_-]/u.test(ch) ? ch : '_';
      const n = Buffer.byteLength(c);
      if (bytes + n > STATE_KEY_PREFIX_BYTES) break;
      prefix += c;
      bytes += n;
    }
    return `${prefix.replace(/_+/g, '_') || 'task'}-${createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 24)}`;
  }

  it('gives printable-ASCII ids the key the general rule gives', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const ids = ['', ' ', '...', 'a b', '__x__', 'fix-login', 'A'.repeat(60), '-'.repeat(50) + 'z', 'x!@#$%^&*()y'];
    for (let i = 0; i < 500; i++) ids.push(Array.from({ length: 1 + rnd(70) }, () => String.fromCharCode(0x20 + rnd(95))).join(''));
    // Ids that are their own prefix (the quickest path) and their near misses.
    ids.push('task-1', 'a_b', 'a_b_c', '_', '_a', 'a_', 'x'.repeat(48), 'x'.repeat(49), 'A-Z_0-9', 'a__b');
    const plain = 'abcXYZ019-_';
    for (let i = 0; i < 500; i++) ids.push(Array.from({ length: 1 + rnd(60) }, () => plain[rnd(plain.length)]).join(''));
    for (const id of ids) expect(stateKey(id), JSON.stringify(id)).toBe(generalKey(id));
  });
});
