import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gini, StatsInputError } from '../../src/stats/index.ts';
import { giniOfRatio, giniRelative, giniSizeNormalised } from '../../src/stats/relative.ts';

const normVector = fc.array(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), { minLength: 2, maxLength: 32 });

describe('giniSizeNormalised', () => {
  it('divides each norm by √numel before the gini', () => {
    // [2, 4] over numel [1, 4] → [2, 2]: no concentration left once sizes are accounted for.
    expect(giniSizeNormalised([2, 4], [1, 4])).toBe(0);
    // [3, 3] over numel [1, 9] → [3, 1]: gini([1,3]) = 0.25.
    expect(giniSizeNormalised([3, 3], [1, 9])).toBeCloseTo(0.25, 14);
  });

  it('equals plain gini when every matrix has the same size', () => {
    fc.assert(
      fc.property(normVector, fc.integer({ min: 1, max: 1e6 }), (x, n) => {
        expect(
          giniSizeNormalised(
            x,
            x.map(() => n),
          ),
        ).toBeCloseTo(gini(x), 12);
      }),
    );
  });

  it('rejects sizes that are not positive integers and mismatched lengths', () => {
    expect(() => giniSizeNormalised([1, 2], [0, 4])).toThrow(StatsInputError);
    expect(() => giniSizeNormalised([1, 2], [1.5, 4])).toThrow(/positive integer/);
    expect(() => giniSizeNormalised([1, 2], [4])).toThrow(/same projection matrices/);
    expect(() => giniSizeNormalised([1, -2], [4, 4])).toThrow(StatsInputError);
  });
});

describe('giniRelative', () => {
  it('is 0 for a vector equal to (or proportional to) the running mean', () => {
    expect(giniRelative([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(giniRelative([2, 4, 6], [1, 2, 3])).toBe(0);
  });

  it('measures the departure from the typical profile, not the profile itself', () => {
    // Plain gini of a strongly uneven profile is high; relative to that same profile it is 0,
    // and a trajectory that doubles one small entry scores above 0.
    const profile = [10, 1, 1, 1];
    expect(gini(profile)).toBeGreaterThan(0.4);
    expect(giniRelative(profile, profile)).toBe(0);
    expect(giniRelative([10, 2, 1, 1], profile)).toBeCloseTo(gini([1, 2, 1, 1]), 14);
  });

  it('counts 0/0 as no departure and rejects a non-zero entry over a zero mean', () => {
    expect(giniRelative([0, 1, 1], [0, 1, 1])).toBe(0);
    expect(() => giniRelative([1, 1], [0, 1])).toThrow(/running mean is 0/);
    expect(() => giniRelative([1, 1], [Number.NaN, 1])).toThrow(StatsInputError);
  });

  it('is scale invariant in both the vector and the mean', () => {
    fc.assert(
      fc.property(normVector, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (x, c) => {
        const m = x.map((v, i) => v + i + 1);
        expect(
          giniRelative(
            x.map((v) => c * v),
            m,
          ),
        ).toBeCloseTo(giniRelative(x, m), 9);
        expect(
          giniRelative(
            x,
            m.map((v) => c * v),
          ),
        ).toBeCloseTo(giniRelative(x, m), 9);
      }),
    );
  });
});

describe('giniOfRatio', () => {
  it('rejects a zero or non-finite divisor', () => {
    expect(() => giniOfRatio([1, 2], [1, 0])).toThrow(/> 0/);
    expect(() => giniOfRatio([1, 2], [1, Number.POSITIVE_INFINITY])).toThrow(StatsInputError);
  });
});
