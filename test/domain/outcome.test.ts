// Table tests of outcome → next status, backoff, dispatch order and dependency checks.
import { describe, expect, it } from 'vitest';
import { backoffMs, planBackoffMs } from '../../src/domain/backoff.js';
import { findCycle, judgeDependencies } from '../../src/domain/dependencies.js';
import { dirKey, dispatchOrder, type Dispatchable } from '../../src/domain/dispatch.js';
import { countedAttempts, decideOutcome, effectiveStopReason, type OutcomeContext, type RunOutcome } from '../../src/domain/outcome.js';

const ctx = (over: Partial<OutcomeContext> = {}): OutcomeContext => ({
  status: 'executing',
  attempts: 1,
  maxAttempts: 3,
  requiresReview: false,
  interrupted: 0,
  failures: 0,
  cycleStart: 0,
  retryBackoffMs: 1000,
  now: 0,
  random: () => 0.5,
  ...over,
});
const ok: RunOutcome = { ok: true, sessionId: 's1', finishedAt: 0 };
const fail = (over: Partial<RunOutcome> = {}): RunOutcome => ({ ok: false, code: 'AGENT_FAILED', message: 'exit 3', retryable: true, finishedAt: 0, ...over });

describe('decideOutcome', () => {
  it.each([
    ['success → done, filed', ok, {}, { kind: 'success', to: 'done', fileInDone: true }],
    ['success with review → in_review, stays', ok, { requiresReview: true }, { kind: 'success', to: 'in_review', fileInDone: false }],
    ['retryable failure, attempts left → planned after backoff', fail(), {}, { kind: 'retry', to: 'planned', delayMs: 1000, failures: 1, error: 'exit 3' }],
    ['second failure doubles the backoff', fail(), { attempts: 2, failures: 1 }, { kind: 'retry', to: 'planned', delayMs: 2000, failures: 2, error: 'exit 3' }],
    ['attempts used up → failed', fail(), { attempts: 3 }, { kind: 'failed', to: 'failed', error: 'exit 3' }],
    ['permanent failure → failed at once', fail({ retryable: false }), {}, { kind: 'failed', to: 'failed', error: 'exit 3' }],
    ['interrupted attempts do not count', fail(), { attempts: 3, interrupted: 1 }, expect.objectContaining({ kind: 'retry' })],
    ['a retry cycle counts from its start', fail(), { attempts: 5, cycleStart: 3 }, expect.objectContaining({ kind: 'retry' })],
    ['…up to max_attempts new ones', fail(), { attempts: 6, cycleStart: 3 }, expect.objectContaining({ kind: 'failed' })],
    ['pause → interrupted, back to planned, session kept', fail({ stopReason: 'pause', sessionId: 's2' }), {}, { kind: 'interrupted', to: 'planned', resumeSession: 's2' }],
    ['shutdown → interrupted', fail({ stopReason: 'shutdown' }), {}, { kind: 'interrupted', to: 'planned' }],
    ['person paused the note → interrupted, status left alone', fail(), { status: 'paused' }, { kind: 'interrupted' }],
    ['cancel → stopped, filed when the note says cancelled', fail({ stopReason: 'cancel' }), { status: 'cancelled' }, { kind: 'stopped', fileInDone: true }],
    ['moved away → stopped, nothing filed', fail({ stopReason: 'moved' }), { status: 'executing' }, { kind: 'stopped', fileInDone: false }],
  ] as const)('%s', (_name, outcome, over, expected) => {
    expect(decideOutcome(outcome, ctx(over))).toEqual(expected);
  });

  it('counts attempts per cycle, minus interrupted ones', () => {
    expect(countedAttempts({ attempts: 7, cycleStart: 4, interrupted: 1 })).toBe(2);
  });
});

describe('effectiveStopReason', () => {
  it('a deadline passed after the agent succeeded is no timeout; every other stop counts', () => {
    expect(effectiveStopReason(true, 'timeout')).toBeUndefined();
    expect(effectiveStopReason(false, 'timeout')).toBe('timeout');
    for (const r of ['pause', 'cancel', 'moved', 'shutdown'] as const) {
      expect(effectiveStopReason(true, r)).toBe(r);
      expect(effectiveStopReason(false, r)).toBe(r);
    }
    expect(effectiveStopReason(true, undefined)).toBeUndefined();
  });
});

describe('backoff', () => {
  it.each([
    [1000, 1, 0.5, 1000],
    [1000, 2, 0.5, 2000],
    [1000, 3, 0, 3000], // 4000 × 0.75
    [1000, 3, 1, 5000], // 4000 × 1.25
    [1000, 30, 0.5, 3_600_000], // capped at an hour
  ])('base %i, failure %i, random %f → %i ms', (base, failures, r, ms) => {
    expect(backoffMs(base, failures, () => r)).toBe(ms);
  });
  it('planning backoff doubles without jitter', () => {
    expect([1, 2, 3].map((f) => planBackoffMs(500, f))).toEqual([500, 1000, 2000]);
  });
});

describe('dispatch order', () => {
  const t = (id: string, priority: Dispatchable['task']['priority'], firstSeen: number, due?: string): Dispatchable => ({ id, firstSeen, task: { priority, due } });
  it('priority, then due date (none last), then age, then id', () => {
    const tasks = [t('low', 'low', 0), t('med-none', 'medium', 0), t('med-late', 'medium', 5, '2030-01-02'), t('med-early', 'medium', 9, '2030-01-01'), t('urgent', 'urgent', 9), t('b-old', 'high', 1), t('a-new', 'high', 2), t('a-same', 'high', 1)];
    expect(tasks.sort(dispatchOrder).map((x) => x.id)).toEqual(['urgent', 'a-same', 'b-old', 'a-new', 'med-early', 'med-late', 'med-none', 'low']);
  });
  it('serialises by working dir; tasks without one never share', () => {
    expect(dirKey({ id: 'a', workingDir: '/w/x/../y' })).toBe(dirKey({ id: 'b', workingDir: '/w/y' }));
    expect(dirKey({ id: 'a' })).not.toBe(dirKey({ id: 'b' }));
  });
});

describe('dependencies', () => {
  const graph: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a'], d: ['e'], e: [] };
  it.each([
    ['a', ['a', 'b', 'c', 'a']],
    ['d', undefined],
  ] as const)('cycle from %s: %j', (id, cycle) => {
    expect(findCycle(id, (x) => graph[x])).toEqual(cycle);
  });
  it.each([
    [[], {}, { kind: 'met' }],
    [['x'], { x: 'done' }, { kind: 'met' }],
    [['x', 'y'], { x: 'done', y: 'executing' }, { kind: 'waiting', on: ['y'] }],
    [['x'], { x: 'missing' }, { kind: 'problem', problem: expect.stringContaining('no task with that name') }],
    [['x'], { x: 'failed' }, { kind: 'problem', problem: 'blocked_by x: that task is failed' }],
  ] as const)('deps %j with %j', (deps, statuses, verdict) => {
    expect(judgeDependencies(deps, (n) => (statuses as Record<string, 'done'>)[n] ?? 'missing')).toEqual(verdict);
  });
});
