import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { percentile, slope, steadyRate, summarize } from '../../src/bench/stats.ts';

const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const sample = fc.array(finite, { minLength: 1, maxLength: 200 });

describe('percentile (linear interpolation between closest ranks, numpy default)', () => {
  it('matches numpy.percentile on a known sample', () => {
    const xs = [15, 20, 35, 40, 50];
    // numpy.percentile([15, 20, 35, 40, 50], [0, 25, 40, 50, 90, 99, 100])
    expect(percentile(xs, 0)).toBe(15);
    expect(percentile(xs, 25)).toBe(20);
    expect(percentile(xs, 40)).toBeCloseTo(29, 12);
    expect(percentile(xs, 50)).toBe(35);
    expect(percentile(xs, 90)).toBeCloseTo(46, 12);
    expect(percentile(xs, 99)).toBeCloseTo(49.6, 12);
    expect(percentile(xs, 100)).toBe(50);
  });

  it('does not depend on input order and leaves the input unchanged', () => {
    fc.assert(
      fc.property(sample, fc.double({ min: 0, max: 100, noNaN: true }), (xs, p) => {
        const copy = [...xs];
        const reversed = [...xs].reverse();
        expect(percentile(xs, p) === percentile(reversed, p)).toBe(true);
        expect(xs).toEqual(copy);
      }),
    );
  });

  it('is the minimum at p0, the maximum at p100, and stays within them', () => {
    fc.assert(
      fc.property(sample, fc.double({ min: 0, max: 100, noNaN: true }), (xs, p) => {
        const lo = Math.min(...xs);
        const hi = Math.max(...xs);
        // == on purpose: -0 and +0 are the same minimum.
        expect(percentile(xs, 0) === lo).toBe(true);
        expect(percentile(xs, 100) === hi).toBe(true);
        const v = percentile(xs, p);
        expect(v).toBeGreaterThanOrEqual(lo);
        expect(v).toBeLessThanOrEqual(hi);
      }),
    );
  });

  it('never decreases as p grows', () => {
    fc.assert(
      fc.property(
        sample,
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (xs, a, b) => {
          const [p, q] = a <= b ? [a, b] : [b, a];
          expect(percentile(xs, p)).toBeLessThanOrEqual(
            percentile(xs, q) + 1e-9 * (1 + Math.abs(percentile(xs, q))),
          );
        },
      ),
    );
  });

  it('is the middle element for an odd count at p50', () => {
    fc.assert(
      fc.property(
        fc.array(finite, { minLength: 1, maxLength: 99 }).filter((xs) => xs.length % 2 === 1),
        (xs) => {
          const sorted = [...xs].sort((x, y) => x - y);
          expect(percentile(xs, 50) === sorted[(sorted.length - 1) / 2]).toBe(true);
        },
      ),
    );
  });

  it('is NaN for no values and rejects p outside [0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('reports count, extremes, mean and the percentiles of the same sample', () => {
    const s = summarize([4, 1, 3, 2]);
    expect(s).toMatchObject({ n: 4, min: 1, max: 4, mean: 2.5, p50: 2.5 });
    expect(s.p99).toBeCloseTo(percentile([1, 2, 3, 4], 99), 12);
  });
});

describe('slope', () => {
  it('recovers the slope of an exact line', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        (m, b) => {
          const xs = [0, 1, 2, 3, 4, 5];
          expect(
            slope(
              xs,
              xs.map((x) => m * x + b),
            ),
          ).toBeCloseTo(m, 6);
        },
      ),
    );
  });

  it('is NaN without two distinct x', () => {
    expect(slope([1], [2])).toBeNaN();
    expect(slope([3, 3], [1, 2])).toBeNaN();
  });
});

describe('steadyRate', () => {
  it('counts events per second between the 10th and 90th percentile times', () => {
    const times = Array.from({ length: 101 }, (_, i) => i * 10); // one event every 10 ms
    expect(steadyRate(times)).toBeCloseTo(100, 9);
  });

  it('ignores a slow start and a straggling tail', () => {
    const times = [0, ...Array.from({ length: 99 }, (_, i) => 5000 + i * 10), 60_000];
    expect(steadyRate(times)).toBeCloseTo(100, 0);
  });

  it('is NaN for too few events', () => {
    expect(steadyRate([1, 2, 3])).toBeNaN();
  });
});
