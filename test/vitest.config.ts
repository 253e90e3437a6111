import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './sequencer.js';

// Lives in test/ so the top level stays as the project layout asks.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Tests spawn real processes (claude, fixtures); two cores, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
    // A fresh clone has no timings: start the known-long files first (sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
  },
});
