// A person editing notes several times a second while the service runs 40 of them.
import { describe, expect, it } from 'vitest';
import { editorScenario } from './scenarios/editor.js';

describe('torture: concurrent editor', () => {
  it('every edit made during a 40-task run survives, in-place and temp+rename saves alike', async () => {
    const r = await editorScenario({ tasks: 40, editsPerSecond: 8, seed: process.env.TORTURE_SEED ? Number(process.env.TORTURE_SEED) : undefined, timeoutMs: 40_000 });
    expect(r.problems, JSON.stringify(r.facts)).toEqual([]);
    expect(r.facts.edits as number).toBeGreaterThan(10);
  }, 150_000); // above the sum of the scenario's own waits, so its cleanup always runs
});
