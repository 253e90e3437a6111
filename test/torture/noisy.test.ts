// An agent printing 200 MB and one ignoring SIGTERM: bounded memory, capped transcripts, timeouts kept.
import { describe, expect, it } from 'vitest';
import { noisyScenario } from './scenarios/noisy.js';

describe('torture: noisy agents', () => {
  it('200 MB of output and a SIGTERM-proof agent: RSS < 300 MB, transcripts capped, stopped at the timeout', async () => {
    const r = await noisyScenario({ noisyMb: 200, timeoutS: 40 });
    expect(r.problems, JSON.stringify(r.facts)).toEqual([]);
  }, 150_000); // above the sum of the scenario's own waits, so its cleanup always runs
});
