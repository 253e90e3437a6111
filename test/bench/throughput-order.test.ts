// The throughput benchmark's order of runs within a rep (scripts/bench/throughput.ts): with a
// baseline build beside ours and the floor, every contender takes every place once over three reps;
// and its settings BENCH_REPS and BENCH_SETTLE (the quiet before each run).
import { describe, expect, it } from 'vitest';
import { benchReps, repOrder, settleSeconds } from '../../scripts/bench/throughput.js';

describe('repOrder', () => {
  it('is a Latin square over as many reps as contenders', () => {
    const who = ['ours', 'baseline', 'floor'];
    const rows = [0, 1, 2].map((rep) => repOrder(who, rep));
    for (const row of rows) expect([...row].sort()).toEqual([...who].sort());
    for (let place = 0; place < who.length; place++) expect(new Set(rows.map((r) => r[place])).size).toBe(who.length);
    expect(rows[0]).toEqual(who);
    expect(repOrder(who, 3)).toEqual(rows[0]);
  });

  it('alternates two contenders, ours first on even reps (as before a baseline existed)', () => {
    expect(repOrder(['ours', 'floor'], 0)).toEqual(['ours', 'floor']);
    expect(repOrder(['ours', 'floor'], 1)).toEqual(['floor', 'ours']);
    expect(repOrder(['ours', 'floor'], 2)).toEqual(['ours', 'floor']);
  });

  it('leaves its input alone', () => {
    const who = ['a', 'b', 'c'];
    repOrder(who, 2);
    expect(who).toEqual(['a', 'b', 'c']);
  });
});

describe('benchReps (BENCH_REPS)', () => {
  it('is 3 when unset or empty, else the whole number given', () => {
    expect(benchReps(undefined)).toBe(3);
    expect(benchReps('')).toBe(3);
    expect(benchReps('5')).toBe(5);
  });

  it('refuses what is not a whole number from 1 to 50, naming the variable', () => {
    for (const bad of ['0', '-2', '2.5', 'five', '51']) expect(() => benchReps(bad)).toThrow(/BENCH_REPS must be a whole number from 1 to 50/);
  });
});

describe('settleSeconds (BENCH_SETTLE)', () => {
  it('is 0 when unset or empty, else the seconds given', () => {
    expect(settleSeconds(undefined)).toBe(0);
    expect(settleSeconds('')).toBe(0);
    expect(settleSeconds('65')).toBe(65);
    expect(settleSeconds('2.5')).toBe(2.5);
  });

  it('refuses what is not a number of seconds from 0 to 900, naming the variable', () => {
    for (const bad of ['-1', 'soon', '901']) expect(() => settleSeconds(bad)).toThrow(/BENCH_SETTLE must be a number of seconds from 0 to 900/);
  });
});
