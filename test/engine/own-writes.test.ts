// Telling the service's own status writes from a person's: by content hash once written, by the
// status of a write still in flight before that (the index may read the new note first).
import { describe, expect, it } from 'vitest';
import { OwnWrites } from '../../src/engine/transition.js';

describe('OwnWrites', () => {
  it('recognises a written hash, and an in-flight status until its write ends', () => {
    const w = new OwnWrites();
    expect(w.isOurs('t', 'h1', 'executing')).toBe(false);
    w.begin('t', 'executing');
    expect(w.isOurs('t', 'h-unknown', 'executing')).toBe(true);
    expect(w.isOurs('t', 'h-unknown', 'paused')).toBe(false); // a person's different status
    w.record('t', 'h1');
    w.end('t', 'executing');
    expect(w.isOurs('t', 'h1', 'executing')).toBe(true);
    expect(w.isOurs('t', 'h2', 'executing')).toBe(false); // the same status saved again by a person
    expect(w.isOurs('u', 'h1', 'executing')).toBe(false);
  });
});
