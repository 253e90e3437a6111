// Symlinks planted where the service writes, long and non-ASCII task names, and notes built to
// exhaust the parser, all under a running service.
import { describe, expect, it } from 'vitest';
import { hostileVaultScenario } from './scenarios/hostile-vault.js';

describe('torture: hostile vault', () => {
  it('writes nothing outside the vault, refuses the big notes untouched, runs everything else', async () => {
    const r = await hostileVaultScenario({ flowMb: 14, followUps: 5 });
    expect(r.problems, JSON.stringify(r.facts)).toEqual([]);
  }, 150_000); // above the scenario's own waits, so its cleanup always runs
});
