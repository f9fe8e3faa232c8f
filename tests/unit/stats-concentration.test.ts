import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StatsInputError, cv, gini, kurtosis, l2 } from '../../src/stats/index.ts';

const relClose = (a: number, b: number, tol = 1e-9): boolean =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

// Norm-like vectors: non-negative, finite, not denormal; at least two distinct entries where needed.
const normVector = fc.array(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 64 });
const spreadVector = normVector.filter((x) => Math.max(...x) - Math.min(...x) > 1e-3 * Math.max(...x));
const scale = fc.double({ min: 1e-4, max: 1e4, noNaN: true });

describe('gini', () => {
  it('matches hand-computed values', () => {
    expect(gini([1, 1, 1, 1])).toBe(0);
    // Σ|xj−xk| over ordered pairs = 2·(1+2+1) = 8 for [1,2,3]; mean 2, n 3 → 8/(2·9·2) = 2/9.
    expect(gini([1, 2, 3])).toBeCloseTo(2 / 9, 14);
    expect(gini([3, 1, 2])).toBeCloseTo(2 / 9, 14);
    // All mass in one of four entries: 1 − 1/n.
    expect(gini([0, 0, 0, 5])).toBeCloseTo(0.75, 14);
    // [1,3]: |1−3|·2 / (2·4·2) = 0.25.
    expect(gini([1, 3])).toBeCloseTo(0.25, 14);
  });

  it('is defined as 0 for the all-zero vector, a single entry and the empty vector', () => {
    expect(gini([0, 0, 0])).toBe(0);
    expect(gini([7])).toBe(0);
    expect(gini([])).toBe(0);
  });

  it('equals the pairwise-difference definition', () => {
    fc.assert(
      fc.property(normVector, (x) => {
        const n = x.length;
        const mu = x.reduce((a, b) => a + b, 0) / n;
        let s = 0;
        for (const a of x) for (const b of x) s += Math.abs(a - b);
        return relClose(gini(x), s / (2 * n * n * mu), 1e-9);
      }),
    );
  });

  it('stays within [0, 1 − 1/n]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 64 }),
        (x) => {
          const g = gini(x);
          return g >= 0 && g <= 1 - 1 / x.length;
        },
      ),
    );
  });

  it('rejects negative and non-finite entries with a typed error', () => {
    expect(() => gini([1, -1])).toThrow(StatsInputError);
    expect(() => gini([1, Number.NaN])).toThrow(StatsInputError);
    expect(() => kurtosis([Number.POSITIVE_INFINITY])).toThrow(StatsInputError);
  });
});

describe('kurtosis (plain Pearson m4/m2²)', () => {
  it('matches hand-computed values', () => {
    // [1,2,3]: m2 = 2/3, m4 = 2/3 → (2/3)/(4/9) = 1.5.
    expect(kurtosis([1, 2, 3])).toBeCloseTo(1.5, 12);
    // Two-point symmetric distribution has the minimum kurtosis 1.
    expect(kurtosis([1, 3, 1, 3])).toBeCloseTo(1, 12);
    // [0,0,0,4]: μ=1, deviations −1,−1,−1,3: m2 = 12/4 = 3, m4 = (1+1+1+81)/4 = 21 → 21/9.
    expect(kurtosis([0, 0, 0, 4])).toBeCloseTo(21 / 9, 12);
  });

  it('is 0 for constant vectors', () => {
    expect(kurtosis([2, 2, 2])).toBe(0);
    expect(kurtosis([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])).toBe(0);
    expect(kurtosis([])).toBe(0);
  });

  it('is at least 1 for non-constant vectors', () => {
    fc.assert(fc.property(spreadVector, (x) => kurtosis(x) >= 1 - 1e-9));
  });
});

describe('cv (population σ/μ)', () => {
  it('matches hand-computed values', () => {
    // [1,2,3]: σ = √(2/3), μ = 2.
    expect(cv([1, 2, 3])).toBeCloseTo(Math.sqrt(2 / 3) / 2, 14);
    expect(cv([0, 0, 0, 4])).toBeCloseTo(Math.sqrt(3), 14);
    expect(cv([0, 0])).toBe(0);
    expect(cv([5, 5, 5])).toBe(0);
  });
});

describe('l2', () => {
  it('matches hand-computed values and survives extreme magnitudes', () => {
    expect(l2([3, 4])).toBeCloseTo(5, 14);
    expect(l2([0, 0])).toBe(0);
    expect(l2([3e200, 4e200])).toBeCloseTo(5e200, -186);
    expect(l2([3e-200, 4e-200]) / 1e-200).toBeCloseTo(5, 12);
  });

  it('is homogeneous of degree one', () => {
    fc.assert(fc.property(normVector, scale, (x, c) => relClose(l2(x.map((v) => v * c)), c * l2(x), 1e-12)));
  });
});

describe('scale and permutation invariance', () => {
  const stats = { gini, kurtosis, cv } as const;
  for (const [name, f] of Object.entries(stats)) {
    it(`${name} is unchanged when every norm is multiplied by c > 0`, () => {
      fc.assert(fc.property(spreadVector, scale, (x, c) => relClose(f(x.map((v) => v * c)), f(x), 1e-9)));
    });
    it(`${name} is unchanged by permuting the norms`, () => {
      fc.assert(
        fc.property(
          spreadVector.chain((x) =>
            fc.tuple(fc.constant(x), fc.shuffledSubarray(x, { minLength: x.length })),
          ),
          ([x, perm]) => relClose(f(perm), f(x), 1e-9),
        ),
      );
    });
  }
});
