import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingQuantile } from '../../src/arbitration/sliding-quantile.ts';

/** Reference: sort the last `w` values and interpolate (numpy 'linear'). */
function naiveQuantile(values: number[], w: number, q: number): number {
  const s = values.slice(-w).sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

describe('SlidingQuantile', () => {
  it('equals the quantile of the last W values for any stream and any q', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, w, q) => {
          const win = new SlidingQuantile(w);
          values.forEach((v) => win.push(v));
          expect(win.size).toBe(Math.min(w, values.length));
          expect(win.values()).toEqual(values.slice(-w));
          expect(win.quantile(q)).toBeCloseTo(naiveQuantile(values, w, q), 6);
        },
      ),
    );
  });

  it('takes the mean of the two middle values as the median of an even window', () => {
    const win = new SlidingQuantile(4);
    [4, 1, 3, 2].forEach((v) => win.push(v));
    expect(win.quantile(0.5)).toBe(2.5);
  });

  it('forgets evicted values, so the median follows a shifted distribution', () => {
    const win = new SlidingQuantile(3);
    [100, 100, 100, 1, 2, 3].forEach((v) => win.push(v));
    expect(win.quantile(0.5)).toBe(2);
  });

  it('keeps duplicates: evicting one copy leaves the others', () => {
    const win = new SlidingQuantile(2);
    [5, 5, 7].forEach((v) => win.push(v));
    expect(win.values()).toEqual([5, 7]);
    expect(win.quantile(0)).toBe(5);
  });

  it('rejects non-finite values and an empty-window quantile', () => {
    const win = new SlidingQuantile(2);
    expect(() => win.quantile(0.5)).toThrow(/empty/);
    expect(() => win.push(Number.NaN)).toThrow(/finite/);
    expect(() => new SlidingQuantile(0)).toThrow(/positive/);
  });
});
