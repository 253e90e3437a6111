// kill -9 of the real service at random moments while 30 tasks run; restart each time.
import { describe, expect, it } from 'vitest';
import { crashScenario } from './scenarios/crash.js';

describe('torture: crash', () => {
  it('30 tasks, 3 random kill -9s and restarts: all done once, no overlapping runs, every note parses', async () => {
    const r = await crashScenario({ tasks: 30, kills: 3, seed: process.env.TORTURE_SEED ? Number(process.env.TORTURE_SEED) : undefined, timeoutMs: 40_000 });
    expect(r.problems, JSON.stringify(r.facts)).toEqual([]);
  }, 150_000); // above the sum of the scenario's own waits, so its cleanup always runs
});
