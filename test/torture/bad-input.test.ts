// Fifty malformed, hostile or odd notes dropped into a running service.
import { describe, expect, it } from 'vitest';
import { badInputScenario } from './scenarios/bad-input.js';

describe('torture: bad input', () => {
  it('reports every malformed note with a reason, leaves unparseable ones byte-identical, runs none, keeps working', async () => {
    const r = await badInputScenario({ hugeMb: 20, followUps: 5 });
    expect(r.problems, JSON.stringify(r.facts)).toEqual([]);
    expect(r.facts.malformed as number).toBeGreaterThanOrEqual(30);
  }, 150_000); // above the sum of the scenario's own waits, so its cleanup always runs
});
