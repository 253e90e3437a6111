// What the CLI's edits do, decided purely (written through the one transition path).
import { describe, expect, it } from 'vitest';
import { decideEdit, type EditAction } from '../../src/domain/person-edits.js';

const planned = { status: 'planned', plan: '[[PLAN_x]]', attempts: 3 };

describe('decideEdit', () => {
  it.each([
    ['pause', { status: 'executing' }, 'Needs_Action', { kind: 'edit', to: 'paused' }],
    ['pause', { status: 'draft' }, 'Needs_Action', { kind: 'edit', to: 'paused' }],
    ['pause', { status: 'paused' }, 'Needs_Action', { kind: 'refuse' }],
    ['resume', { status: 'paused', plan: '[[PLAN_x]]' }, 'Needs_Action', { kind: 'edit', to: 'planned' }],
    ['resume', { status: 'paused' }, 'Needs_Action', { kind: 'edit', to: 'new' }],
    ['resume', planned, 'Needs_Action', { kind: 'refuse' }],
    ['cancel', planned, 'Needs_Action', { kind: 'edit', to: 'cancelled' }],
    ['cancel', { status: 'done' }, 'Needs_Action', { kind: 'refuse' }],
    ['retry', { status: 'failed', plan: '[[PLAN_x]]', attempts: 3 }, 'Needs_Action', { kind: 'edit', to: 'planned', edits: { error: undefined } }],
    ['retry', { status: 'done' }, 'Done', { kind: 'edit', to: 'new' }],
    ['retry', { status: 'executing' }, 'Needs_Action', { kind: 'refuse' }],
    ['approve', { status: 'awaiting_approval' }, 'Pending_Approval', { kind: 'edit', edits: { approved: true } }],
    ['approve', { status: 'awaiting_approval', approved: true }, 'Pending_Approval', { kind: 'noop' }],
    ['approve', { status: 'failed' }, 'Needs_Action', { kind: 'refuse' }],
    ['pause', { status: 'done' }, 'Done', { kind: 'refuse' }],
  ] as const)('%s on %j in %s', (action, data, folder, expected) => {
    expect(decideEdit(action as EditAction, 'x', data, folder)).toMatchObject(expected);
  });

  it('retry never resets attempts (every attempt keeps its transcript)', () => {
    const d = decideEdit('retry', 'x', { status: 'failed', attempts: 3 }, 'Needs_Action');
    expect(d.kind === 'edit' && 'attempts' in d.edits).toBe(false);
  });
});
