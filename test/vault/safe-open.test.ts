// No write follows a symlink out of the vault (git and Syncthing both carry symlinks): planted
// links at files and folders the service writes, on a real filesystem, with a real "outside".
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DailyFileStream, localDay, logFileName } from '../../src/log/daily-file.js';
import { readJson, writeJson } from '../../src/vault/json-file.js';
import { LeaseStore } from '../../src/vault/lease-store.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { createExclusive, ensureVaultDir, openAppend, readRegularFile, readRegularFileSync, UnsafePathError } from '../../src/os/safe-open.js';

let base: string;
let vault: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'vr-safe-'));
  vault = join(base, 'vault');
  outside = join(base, 'outside');
  await mkdir(vault);
  await mkdir(outside);
  await writeFile(join(outside, 'authorized_keys'), 'ssh-ed25519 AAAA mine\n');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const outsideUntouched = async () => {
  expect(await readFile(join(outside, 'authorized_keys'), 'utf8')).toBe('ssh-ed25519 AAAA mine\n');
  expect((await readdir(outside)).sort()).toEqual(['authorized_keys']);
};

describe('ensureVaultDir', () => {
  it('creates missing folders one by one inside the vault', async () => {
    await ensureVaultDir(vault, join(vault, 'Logs', 'runs', 'task'));
    expect(existsSync(join(vault, 'Logs', 'runs', 'task'))).toBe(true);
  });

  it('refuses a folder linked out of the vault, and creates nothing through it', async () => {
    await symlink(outside, join(vault, 'Logs'));
    const err = await ensureVaultDir(vault, join(vault, 'Logs', 'runs', 'task')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect((err as UnsafePathError).code).toBe('UNSAFE_PATH');
    expect((err as Error).message).toBe(`Logs is a symbolic link to ${outside}, outside the vault; vaultrunner does not write through it (make it a real folder)`);
    await outsideUntouched();
  });

  it('refuses a deeper link out and a dangling link; allows a link to a folder inside the vault', async () => {
    await mkdir(join(vault, 'Logs', 'runs'), { recursive: true });
    await symlink(outside, join(vault, 'Logs', 'runs', 'task'));
    await expect(ensureVaultDir(vault, join(vault, 'Logs', 'runs', 'task'))).rejects.toThrow(/Logs\/runs\/task is a symbolic link to .*outside the vault/);
    await symlink(join(base, 'nowhere'), join(vault, 'Done'));
    await expect(ensureVaultDir(vault, join(vault, 'Done'))).rejects.toThrow(/Done is a symbolic link to \(a missing target\)/);
    await mkdir(join(vault, 'Archive'));
    await symlink(join(vault, 'Archive'), join(vault, 'Plans'));
    await ensureVaultDir(vault, join(vault, 'Plans', 'sub'));
    expect(existsSync(join(vault, 'Archive', 'sub'))).toBe(true);
    await outsideUntouched();
  });

  it('refuses a file where a folder should be', async () => {
    await writeFile(join(vault, 'Logs'), 'x');
    await expect(ensureVaultDir(vault, join(vault, 'Logs', 'runs'))).rejects.toThrow(/Logs is not a folder/);
  });
});

describe('files are opened without following links, and only regular files', () => {
  it('openAppend and createExclusive refuse a planted link; readRegularFile does not read through one', async () => {
    const planted = join(vault, 'attempt-1.md');
    await symlink(join(outside, 'authorized_keys'), planted);
    await expect(openAppend(planted)).rejects.toThrow(/is a symbolic link; vaultrunner never writes through one/);
    await expect(createExclusive(planted)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(readRegularFile(planted)).rejects.toBeInstanceOf(UnsafePathError);
    expect(() => readRegularFileSync(planted)).toThrow(UnsafePathError);
    await outsideUntouched();
  });

  it('readRegularFileSync: the bytes and the open file\'s stat; absent is undefined; the size bound holds', async () => {
    const f = join(vault, 'state.json');
    await writeFile(f, '{"a":1}');
    const r = readRegularFileSync(f);
    expect(r?.buf.toString()).toBe('{"a":1}');
    expect(r?.st.size).toBe(7);
    expect(r?.st.isFile()).toBe(true);
    expect(readRegularFileSync(join(vault, 'absent.json'))).toBeUndefined();
    expect(() => readRegularFileSync(f, { maxBytes: 6 })).toThrow(/7 bytes, more than the 6 expected/);
    await mkdir(join(vault, 'dir.json'));
    expect(() => readRegularFileSync(join(vault, 'dir.json'))).toThrow(UnsafePathError);
  });

  it('the daily log file: a planted link is not written through, nor a linked Logs/ folder', async () => {
    const now = () => Date.UTC(2026, 0, 5, 12);
    await mkdir(join(vault, 'Logs'));
    await symlink(join(outside, 'authorized_keys'), join(vault, 'Logs', logFileName(localDay(now()))));
    const stream = new DailyFileStream(join(vault, 'Logs'), now);
    stream.write('{"msg":"hello"}\n');
    stream.close();
    await outsideUntouched();

    await rm(join(vault, 'Logs'), { recursive: true });
    await symlink(outside, join(vault, 'Logs'));
    const linked = new DailyFileStream(join(vault, 'Logs'), now);
    linked.write('{"msg":"hello"}\n');
    linked.close();
    await outsideUntouched();
  });

  it('the daily log file is still written when nothing is planted', async () => {
    const now = () => Date.UTC(2026, 0, 5, 12);
    const stream = new DailyFileStream(join(vault, 'Logs'), now);
    stream.write('{"msg":"hello"}\n');
    stream.close();
    expect(await readFile(join(vault, 'Logs', logFileName(localDay(now()))), 'utf8')).toBe('{"msg":"hello"}\n');
  });
});

describe('notes and state are never moved or written out of the vault', () => {
  it('a Done/ linked out of the vault: the move is refused and the note stays', async () => {
    await mkdir(join(vault, 'Needs_Action'));
    await symlink(outside, join(vault, 'Done'));
    const note = join(vault, 'Needs_Action', 'task.md');
    await writeFile(note, '---\ntype: x\nstatus: done\n---\n');
    const store = new NoteStore({ vaultRoot: vault });
    await expect(store.move(note, join(vault, 'Done'))).rejects.toThrow(/Done is a symbolic link to .*outside the vault/);
    expect(existsSync(note)).toBe(true);
    // Without the vault root given, the folder's parent stands in.
    await expect(new NoteStore().move(note, join(vault, 'Done'))).rejects.toBeInstanceOf(UnsafePathError);
    await outsideUntouched();
  });

  it('a Plans/ linked out of the vault: no note is created there', async () => {
    await symlink(outside, join(vault, 'Plans'));
    await expect(new NoteStore().create(join(vault, 'Plans', 'PLAN_x.md'), '---\ntype: plan\n---\n')).rejects.toBeInstanceOf(UnsafePathError);
    await outsideUntouched();
  });

  it('a .vaultrunner/leases/ linked out of the vault: no lease is written, a linked lease is not read', async () => {
    await mkdir(join(vault, '.vaultrunner'));
    await symlink(outside, join(vault, '.vaultrunner', 'leases'));
    const leases = new LeaseStore(join(vault, '.vaultrunner', 'leases'), 60_000);
    await expect(leases.acquire('task', 1)).rejects.toBeInstanceOf(UnsafePathError);
    await outsideUntouched();

    await rm(join(vault, '.vaultrunner', 'leases'));
    await mkdir(join(vault, '.vaultrunner', 'tasks'));
    await writeFile(join(outside, 'state.json'), '{"secret":1}');
    await symlink(join(outside, 'state.json'), join(vault, '.vaultrunner', 'tasks', 'x.json'));
    expect(await readJson(join(vault, '.vaultrunner', 'tasks', 'x.json'))).toBeUndefined();
    // writeJson replaces the link itself (rename), never its target.
    await writeJson(join(vault, '.vaultrunner', 'tasks', 'x.json'), { mine: true });
    expect(await readFile(join(outside, 'state.json'), 'utf8')).toBe('{"secret":1}');
    expect(await readJson(join(vault, '.vaultrunner', 'tasks', 'x.json'))).toEqual({ mine: true });
  });
});

describe('FIFOs never block', () => {
  it('readRegularFile and openAppend refuse a FIFO at once', async () => {
    const fifo = join(vault, 'Dashboard.md');
    execFileSync('mkfifo', [fifo]);
    await expect(readRegularFile(fifo)).rejects.toThrow(/is not a regular file/);
    await expect(openAppend(fifo)).rejects.toThrow(/is not a regular file/);
    expect(() => readRegularFileSync(fifo)).toThrow(/is not a regular file/);
  });
});
