// The benchmark names the filesystem its temp vaults are on (scripts/bench/machine.ts), from the
// mount table: the deepest mount point holding the path wins.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFilesystem } from '../../scripts/bench/machine.js';

describe.runIf(process.platform === 'linux')('tempFilesystem', () => {
  it('names the mount a path is on, the deepest one', () => {
    expect(tempFilesystem('/proc/self')).toBe('proc (proc)');
    expect(tempFilesystem('/proc/sys/kernel')).toMatch(/^(proc|sysfs) /);
    expect(tempFilesystem('/dev/shm')).toMatch(/^tmpfs /);
  });

  it('says whether an ext4 has a journal, or nothing more for other filesystems', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vr-fs-'));
    try {
      const text = tempFilesystem(dir);
      expect(text).not.toBe('unknown');
      if (text.startsWith('ext4 ')) expect(text).toMatch(/, (journaled|no journal: )/);
      else expect(text).not.toContain('journal');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is "unknown" for a path that does not exist', () => {
    expect(tempFilesystem('/nonexistent/vaultrunner')).toBe('unknown');
  });
});
