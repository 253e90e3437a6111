// validateTask's hand-written checks against the zod schemas they replaced: every field, every
// value of a wide pool (YAML can give strings, finite and odd numbers, booleans, null, lists, maps),
// must be accepted or refused alike and give the same value.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseDuration } from '../../src/config/duration.js';
import { PERMISSION_MODES } from '../../src/config/permission-modes.js';
import { PRIORITIES, STATUSES } from '../../src/domain/status.js';
import { MAX_TASK_TIMEOUT_MS, validateTask } from '../../src/domain/task.js';
import * as f from '../../src/domain/task-fields.js';

// The schemas as they were (src/domain/task.ts before the checks were hand-written).
const str = z.union([z.string(), z.number()]).transform((v) => String(v));
const optStr = str.optional().nullable();
const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === 'yes')
  .optional()
  .nullable();
const ORACLE: Record<string, [z.ZodType, f.Check]> = {
  type: [z.string().trim().min(1), f.requiredName],
  status: [z.enum(STATUSES).optional().nullable(), f.optOneOf(STATUSES)],
  title: [optStr, f.optText],
  priority: [z.enum(PRIORITIES).optional().nullable(), f.optOneOf(PRIORITIES)],
  due: [z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/).optional().nullable(), f.optMatching(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/)],
  blocked_by: [z.union([z.string(), z.array(z.string())]).optional().nullable(), f.optTextOrList],
  allow_dirty: [boolish, f.optBool],
  gates: [z.array(z.string()).optional().nullable(), f.optList],
  permission_mode: [z.enum(PERMISSION_MODES).optional().nullable(), f.optOneOf(PERMISSION_MODES)],
  timeout: [
    z
      .union([z.string(), z.number()])
      .refine((v) => {
        const ms = parseDuration(v);
        return ms !== undefined && ms > 0 && ms <= MAX_TASK_TIMEOUT_MS;
      })
      .optional()
      .nullable(),
    f.optDuration(MAX_TASK_TIMEOUT_MS),
  ],
  max_attempts: [z.number().int().min(1).max(100).optional().nullable(), f.optInt(1, 100)],
  budget_usd: [z.number().positive().finite().optional().nullable(), f.optNumber(0, false)],
  attempts: [z.number().int().min(0).optional().nullable(), f.optInt(0)],
  cost_usd: [z.number().min(0).optional().nullable(), f.optNumber(0, true)],
};

const NUMBERS = [0, -0, 1, -1, 2, 3, 42, 99, 100, 101, 1.5, -2.5, 0.0001, 1e3, 1e21, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 86400, 86401, 1e-7, NaN, Infinity, -Infinity];
const STRINGS = [
  '', ' ', '  x  ', 'x', 'claude_code', 'true', 'false', 'yes', 'no', 'True', 'on', '1', '0', 'new', 'planned', 'done', 'NEW', ' new',
  'urgent', 'high', 'medium', 'low', 'acceptEdits', 'plan', 'default', 'bypassPermissions', '2026-12-01', '2026-12-01T10:00', '2026-12-01T10:00:05',
  '2026-12-01 10:00', '12/01/2026', '30s', '10m', '1h', '24h', '25h', '0s', '-5s', '500ms', '1.5h', '5', '[[task-a]]', 'a, b', '\n', 'x\ny',
];
const OTHERS = [undefined, null, true, false, [], ['a'], ['a', 'b'], ['a', 1], [null], [['a']], {}, { a: 1 }, new Date(0)];
const POOL: unknown[] = [...NUMBERS, ...STRINGS, ...OTHERS];

describe('task field checks', () => {
  for (const [key, [schema, check]] of Object.entries(ORACLE)) {
    it(`${key}: same verdict and value as the zod schema for ${POOL.length} values`, () => {
      const disagreements: string[] = [];
      for (const raw of POOL) {
        const z1 = schema.safeParse(raw);
        const ours = check(raw);
        const same = z1.success ? ours !== f.BAD && Object.is(JSON.stringify(ours), JSON.stringify(z1.data)) && Object.is(typeof ours, typeof z1.data) : ours === f.BAD;
        if (!same) disagreements.push(`${String(raw)} (${typeof raw}): zod ${z1.success ? JSON.stringify(z1.data) : 'refuses'}, ours ${ours === f.BAD ? 'refuses' : JSON.stringify(ours)}`);
      }
      expect(disagreements).toEqual([]);
    });
  }

  it('validateTask reports each bad property with what is expected and keeps the good ones', () => {
    const r = validateTask('t', { type: '  claude_code ', status: 'bogus', attempts: 1.5, title: 7, timeout: '25h', allow_dirty: 'yes' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.key)).toEqual(['status', 'timeout', 'attempts']);
    expect(r.partial).toMatchObject({ type: 'claude_code', title: '7', allowDirty: true, status: 'new' });
    const good = validateTask('t', { type: 'claude_code', status: 'planned', timeout: 90, max_attempts: 3 });
    expect(good).toMatchObject({ ok: true, task: { status: 'planned', timeoutMs: 90_000, maxAttempts: 3, blockedBy: [] } });
  });
});
