// One service per vault: a second refuses to start; after kill -9 of the first, a new one recovers.
import { describe, expect, it } from 'vitest';
import { twoServicesScenario } from './scenarios/two-services.js';

describe('torture: two services on one vault', () => {
  it('the second refuses (exit 1, clear message); after kill -9 of the first a new one recovers its tasks', async () => {
    const r = await twoServicesScenario({ tasks: 12 });
    expect(r.problems, JSON.stringify(r.facts)).toEqual([]);
    expect(r.facts.secondExit).toBe(1);
  }, 150_000); // above the sum of the scenario's own waits, so its cleanup always runs
});
