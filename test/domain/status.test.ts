// Table tests of who may move a task where, and which folder each status lives in.
import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, folderFor, noteStatus, RULES, STATUSES, TransitionError, type Actor, type Status } from '../../src/domain/status.js';

describe('moves', () => {
  const allowed: [Status, Status, Actor][] = [
    ['new', 'planned', 'orchestrator'],
    ['new', 'awaiting_approval', 'orchestrator'],
    ['new', 'failed', 'orchestrator'],
    ['awaiting_approval', 'planned', 'orchestrator'],
    ['planned', 'awaiting_approval', 'orchestrator'],
    ['planned', 'executing', 'executor'],
    ['planned', 'failed', 'executor'],
    ['executing', 'done', 'executor'],
    ['executing', 'in_review', 'executor'],
    ['executing', 'planned', 'executor'],
    ['executing', 'planned', 'watchdog'],
    ['executing', 'failed', 'watchdog'],
  ];
  it.each(allowed)('%s → %s by %s is allowed', (from, to, actor) => {
    expect(canTransition(from, to, actor)).toBe(true);
  });

  const denied: [Status, Status, Actor][] = [
    ['new', 'executing', 'executor'], // never run unplanned
    ['planned', 'executing', 'orchestrator'],
    ['executing', 'done', 'watchdog'],
    ['failed', 'planned', 'executor'], // only a person retries
    ['paused', 'planned', 'orchestrator'], // only a person resumes
    ['in_review', 'done', 'executor'], // only a person accepts
    ['draft', 'new', 'orchestrator'], // a draft is the person's until they say so
    ['done', 'planned', 'orchestrator'],
    ['cancelled', 'planned', 'executor'],
  ];
  it.each(denied)('%s → %s by %s is refused', (from, to, actor) => {
    expect(canTransition(from, to, actor)).toBe(false);
    expect(() => assertTransition(from, to, actor)).toThrow(TransitionError);
  });

  it('a person may make any change of status, but not a non-change', () => {
    for (const from of STATUSES) for (const to of STATUSES) expect(canTransition(from, to, 'person')).toBe(from !== to);
  });

  it('the engine never touches a draft, a paused, a cancelled or a done task (except to send a refused merge back to review)', () => {
    for (const [from, to] of RULES) {
      if (from === 'done' && to === 'in_review') continue; // MERGE refused: dirty checkout, conflict
      expect(['draft', 'paused', 'cancelled', 'done', 'in_review', 'failed']).not.toContain(from);
    }
    expect(canTransition('done', 'in_review', 'orchestrator')).toBe(true);
    expect(canTransition('done', 'planned', 'orchestrator')).toBe(false);
    expect(canTransition('done', 'in_review', 'watchdog')).toBe(false);
  });
});

describe('folders and statuses', () => {
  it.each([
    ['planned', 'Needs_Action'],
    ['awaiting_approval', 'Pending_Approval'],
    ['done', 'Done'],
    ['cancelled', 'Done'],
    ['paused', undefined],
    ['failed', undefined],
    ['in_review', undefined],
    ['draft', undefined],
    ['new', undefined],
    ['executing', undefined],
  ] as const)('%s is filed in %s', (status, folder) => {
    expect(folderFor(status)).toBe(folder);
  });

  it.each([
    [{}, 'new'],
    [{ status: 'draft' }, 'draft'],
    [{ status: 'planned' }, 'planned'],
    [{ status: 'planed' }, undefined],
    [{ status: 3 }, undefined],
  ] as const)('noteStatus(%j) is %s', (data, status) => {
    expect(noteStatus(data)).toBe(status);
  });
});
