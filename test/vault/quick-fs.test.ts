// The main-thread file calls (os/quick-fs) keep what the threadpool's calls promised: whole reads
// and writes, errors as rejections, and never a hang on a FIFO; and folder fsyncs asked for
// together are shared without ever answering a caller before a sync that began after its change.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constants } from 'node:fs';
import { lstat, open, readFile, rename, stat, unlink } from '../../src/os/quick-fs.js';
import { dirSyncCount, syncDir, writeSynced } from '../../src/vault/durable-fs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vr-quickfs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('quick-fs', () => {
  it('reads a file whole, even one that grew after its stat, and writes whole', async () => {
    const p = join(dir, 'a.md');
    const big = 'x'.repeat(300_000);
    writeFileSync(p, big);
    const fh = await open(p, constants.O_RDONLY);
    appendFileSync(p, 'tail'); // grows between open and read
    const buf = await fh.readFile();
    await fh.close();
    await fh.close(); // a second close is harmless
    expect(buf.toString()).toBe(`${big}tail`);
    await writeSynced(join(dir, 'b.md'), 'é'.repeat(100_000), 'wx');
    expect(readFileSync(join(dir, 'b.md'), 'utf8')).toBe('é'.repeat(100_000));
    await expect(writeSynced(join(dir, 'b.md'), 'again', 'wx')).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('reports errors as rejections with their codes', async () => {
    await expect(stat(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(unlink(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(rename(join(dir, 'missing'), join(dir, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFile(join(dir, 'missing'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never waits on a FIFO: a read opens at once, a write with no reader is refused', async () => {
    const fifo = join(dir, 'evil.md');
    execFileSync('mkfifo', [fifo]);
    const fh = await open(fifo, constants.O_RDONLY);
    expect((await fh.stat()).isFIFO()).toBe(true);
    await fh.close();
    await expect(open(fifo, constants.O_WRONLY)).rejects.toMatchObject({ code: 'ENXIO' });
    expect(await readFile(fifo, 'utf8')).toBe(''); // no writer: end of file at once
  });
});

describe('syncDir', () => {
  it('shares one fsync among callers that ask while one is under way', async () => {
    const before = dirSyncCount.value;
    await Promise.all(Array.from({ length: 8 }, () => syncDir(dir)));
    // The first starts at once; the seven that asked meanwhile share the next one.
    expect(dirSyncCount.value - before).toBe(2);
    for (let i = 0; i < 3; i++) await syncDir(dir); // one after another: one each
    expect(dirSyncCount.value - before).toBe(5);
    await syncDir(join(dir, 'missing')); // best effort: a folder that cannot be synced does not throw
  });

  it('answers a caller only after a sync that began after it asked', async () => {
    const order: string[] = [];
    const first = syncDir(dir).then(() => order.push('first'));
    const count = dirSyncCount.value; // the first is under way
    const second = syncDir(dir).then(() => order.push(`second after ${dirSyncCount.value - count} more`));
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second after 1 more']);
  });
});
