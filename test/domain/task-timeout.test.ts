// A note's `timeout:` is bounded: a 400-digit timeout became Infinity and was accepted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeProblems, MAX_TASK_TIMEOUT_MS, validateTask } from '../../src/domain/task.js';
import { NoteStore } from '../../src/vault/note-store.js';

const dir = mkdtempSync(join(tmpdir(), 'vr-timeout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function validate(timeout: string) {
  const path = join(dir, 'task.md');
  writeFileSync(path, `---\ntype: claude_code\ntimeout: ${timeout}\n---\nDo it.\n`);
  const r = await new NoteStore().read(path);
  if (!r.ok) throw r.error;
  return validateTask('task', r.data);
}

it('refuses a timeout beyond 24 hours, however it is written, with a clear reason', async () => {
  const huge = '9'.repeat(400);
  for (const t of [huge, `"${huge}"`, `${huge}s`, `${huge}ms`, '25h', '86400001ms', '1441m', '86401']) {
    const v = await validate(t);
    expect(v.ok, t).toBe(false);
    if (!v.ok) expect(describeProblems(v.problems)).toMatch(/^timeout: .* \(expected a duration like 30s, 10m or 1h, at most 24h\)$/);
  }
});

it('accepts up to 24 hours', async () => {
  for (const [t, ms] of [['24h', MAX_TASK_TIMEOUT_MS], ['1440m', MAX_TASK_TIMEOUT_MS], ['86400', MAX_TASK_TIMEOUT_MS], ['3s', 3000]] as const) {
    const v = await validate(t);
    expect(v.ok && v.task.timeoutMs, t).toBe(ms);
  }
});
