// Table tests of the one readiness function: every wait reason, every problem, and their order.
import { describe, expect, it } from 'vitest';
import type { DependencyStatus } from '../../src/domain/dependencies.js';
import { describeWait, readiness, readinessText, TEMPLATE_PLACEHOLDER, type Readiness, type ReadinessInput, type WaitReason } from '../../src/domain/readiness.js';

const NOW = 1_000_000;

function input(over: Partial<ReadinessInput> & { deps?: Record<string, DependencyStatus>; runningIds?: string[] } = {}): ReadinessInput {
  const { deps = {}, runningIds = [], ...rest } = over;
  return {
    id: 't',
    status: 'planned',
    folder: 'Needs_Action',
    body: 'Do the thing.',
    whitelisted: true,
    approved: false,
    blockedBy: Object.keys(deps),
    dependencyStatus: (n) => deps[n] ?? 'missing',
    now: NOW,
    plannerUsesAgent: false,
    agent: { name: 'claude', health: { ok: true, detail: 'fine' } },
    dirKey: '/work/a',
    busyDirs: new Map(),
    running: { count: runningIds.length, max: 3, has: (id) => runningIds.includes(id) },
    ...rest,
  };
}

const waiting = (kind: string) => ({ kind: 'waiting', reason: expect.objectContaining({ kind }) });

describe('readiness of a planned task', () => {
  const cases: [string, Partial<ReadinessInput> & { deps?: Record<string, DependencyStatus> }, unknown][] = [
    ['ready', {}, { kind: 'ready', step: 'run' }],
    ['not whitelisted, not approved: approval', { whitelisted: false }, waiting('approval')],
    ['not whitelisted but approved: ready', { whitelisted: false, approved: true }, { kind: 'ready', step: 'run' }],
    ['a dependency not done yet', { deps: { a: 'planned', b: 'done' } }, { kind: 'waiting', reason: { kind: 'dependency', on: ['a'] } }],
    ['all dependencies done', { deps: { a: 'done', b: 'done' } }, { kind: 'ready', step: 'run' }],
    ['a missing dependency is a problem', { deps: { ghost: 'missing' } }, { kind: 'problem', problem: expect.stringContaining('ghost') }],
    ['a failed dependency is a problem', { deps: { a: 'failed' } }, { kind: 'problem', problem: expect.stringContaining('failed') }],
    ['a cancelled dependency is a problem', { deps: { a: 'cancelled' } }, { kind: 'problem', problem: expect.stringContaining('cancelled') }],
    ['a cycle is a problem', { deps: { a: 'planned' }, cycle: ['t', 'a', 't'] }, { kind: 'problem', problem: 'blocked_by forms a cycle: t → a → t' }],
    ['backoff', { notBefore: NOW + 5000 }, { kind: 'waiting', reason: { kind: 'backoff', until: NOW + 5000 } }],
    ['backoff over', { notBefore: NOW - 1 }, { kind: 'ready', step: 'run' }],
    ['agent unavailable', { agent: { name: 'claude', health: { ok: false, detail: 'not found' } } }, { kind: 'waiting', reason: { kind: 'agent_unavailable', agent: 'claude', detail: 'not found' } }],
    ['agent not probed yet: not a reason', { agent: { name: 'claude' } }, { kind: 'ready', step: 'run' }],
    ['working dir busy', { busyDirs: new Map([['/work/a', 'other']]) }, { kind: 'waiting', reason: { kind: 'working_dir_busy', dir: '/work/a', by: 'other' } }],
    ['no free slot', { running: { count: 3, max: 3, has: () => false } }, { kind: 'waiting', reason: { kind: 'slot', running: 3, max: 3 } }],
    ['placeholder body: draft', { body: `${TEMPLATE_PLACEHOLDER}\n\n## Acceptance criteria\n` }, { kind: 'waiting', reason: { kind: 'draft', why: 'placeholder' } }],
  ];
  it.each(cases)('%s', (_name, over, expected) => {
    expect(readiness(input(over))).toEqual(expected);
  });

  it('reasons come in a fixed order: approval, dependency, backoff, agent, working dir, slot', () => {
    const all = input({ whitelisted: false, deps: { a: 'planned' }, notBefore: NOW + 1, agent: { name: 'x', health: { ok: false, detail: '' } }, busyDirs: new Map([['/work/a', 'o']]), running: { count: 3, max: 3, has: () => false } });
    const order: string[] = [];
    let cur = all;
    for (let i = 0; i < 6; i++) {
      const r = readiness(cur);
      if (r.kind !== 'waiting') break;
      order.push(r.reason.kind);
      cur = { ...cur, ...{ approval: { whitelisted: true }, dependency: { blockedBy: [] }, backoff: { notBefore: undefined }, agent_unavailable: { agent: { name: 'x' } }, working_dir_busy: { busyDirs: new Map() }, slot: { running: { count: 0, max: 3, has: () => false } } }[r.reason.kind as 'slot'] };
    }
    expect(order).toEqual(['approval', 'dependency', 'backoff', 'agent_unavailable', 'working_dir_busy', 'slot']);
  });
});

describe('readiness in other statuses', () => {
  const cases: [string, Partial<ReadinessInput>, Readiness | unknown][] = [
    ['draft', { status: 'draft' }, { kind: 'waiting', reason: { kind: 'draft', why: 'status' } }],
    ['new: ready to plan', { status: 'new' }, { kind: 'ready', step: 'plan' }],
    ['new with the template placeholder: draft', { status: 'new', body: `  ${TEMPLATE_PLACEHOLDER}  ` }, { kind: 'waiting', reason: { kind: 'draft', why: 'placeholder' } }],
    ['new in planning backoff', { status: 'new', planNotBefore: NOW + 10 }, { kind: 'waiting', reason: { kind: 'backoff', until: NOW + 10 } }],
    ['new, planning gave up', { status: 'new', planGaveUp: 'planning failed' }, { kind: 'problem', problem: 'planning failed' }],
    ['new, agent planner, no slot', { status: 'new', plannerUsesAgent: true, running: { count: 1, max: 1, has: () => false } }, { kind: 'waiting', reason: { kind: 'slot', running: 1, max: 1 } }],
    ['new, agent planner ignores working dirs', { status: 'new', plannerUsesAgent: true, busyDirs: new Map([['/work/a', 'o']]) }, { kind: 'ready', step: 'plan' }],
    ['new, template planner needs no slot', { status: 'new', running: { count: 1, max: 1, has: () => false } }, { kind: 'ready', step: 'plan' }],
    ['awaiting approval', { status: 'awaiting_approval' }, { kind: 'waiting', reason: { kind: 'approval' } }],
    ['approved: released', { status: 'awaiting_approval', approved: true }, { kind: 'ready', step: 'release' }],
    ['paused', { status: 'paused' }, { kind: 'waiting', reason: { kind: 'paused' } }],
    ['in review', { status: 'in_review' }, { kind: 'waiting', reason: { kind: 'review' } }],
    ['executing', { status: 'executing' }, { kind: 'running' }],
    ['held by a run', { status: 'planned', running: { count: 1, max: 3, has: (id) => id === 't' } }, { kind: 'running' }],
    ['failed', { status: 'failed' }, { kind: 'idle' }],
    ['done', { status: 'done' }, { kind: 'idle' }],
    ['cancelled', { status: 'cancelled' }, { kind: 'idle' }],
  ];
  it.each(cases)('%s', (_name, over, expected) => {
    expect(readiness(input(over))).toEqual(expected);
  });
});

describe('one phrase per reason', () => {
  const clock = () => '12:00:00';
  it.each<[WaitReason, string]>([
    [{ kind: 'dependency', on: ['a', 'b'] }, 'blocked by a, b'],
    [{ kind: 'approval' }, 'approval'],
    [{ kind: 'slot', running: 3, max: 3 }, 'slot (3/3 running)'],
    [{ kind: 'working_dir_busy', dir: '/w', by: 'x' }, 'working dir busy (x)'],
    [{ kind: 'backoff', until: 0 }, 'backoff until 12:00:00'],
    [{ kind: 'agent_unavailable', agent: 'claude', detail: 'gone' }, 'agent claude unavailable'],
    [{ kind: 'draft', why: 'status' }, 'draft'],
    [{ kind: 'paused' }, 'paused'],
  ])('%j → %s', (reason, text) => {
    expect(describeWait(reason, clock)).toBe(text);
    expect(readinessText({ kind: 'waiting', reason }, clock)).toBe(text);
  });
  it('ready to run reads "queued", ready to plan "planning"', () => {
    expect(readinessText({ kind: 'ready', step: 'run' }, clock)).toBe('queued');
    expect(readinessText({ kind: 'ready', step: 'plan' }, clock)).toBe('planning');
    expect(readinessText({ kind: 'idle' }, clock)).toBeNull();
  });
});
