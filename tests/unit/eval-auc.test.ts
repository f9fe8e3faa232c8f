import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EvalError, mannWhitneyAuc, midranks } from '../../src/eval/index.ts';

/** The definition: P(s₊ > s₋) + ½ P(s₊ = s₋) over all positive/negative pairs, O(n²). */
function pairwiseAuc(scores: readonly number[], positive: readonly boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((p, i) => {
    if (!positive[i]) return;
    scores.forEach((q, j) => {
      if (positive[j]) return;
      pairs++;
      wins += p > q ? 1 : p === q ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

// Small integer-valued scores on purpose: they produce many ties.
const labelled = fc
  .array(
    fc.record({
      s: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ min: -1e3, max: 1e3, noNaN: true })),
      y: fc.boolean(),
    }),
    {
      minLength: 2,
      maxLength: 80,
    },
  )
  .filter((xs) => xs.some((x) => x.y) && xs.some((x) => !x.y));
const split = (xs: { s: number; y: boolean }[]) => ({ s: xs.map((x) => x.s), y: xs.map((x) => x.y) });

describe('midranks', () => {
  it('gives tied values their average rank', () => {
    expect([...midranks([10, 20, 20, 30])]).toEqual([1, 2.5, 2.5, 4]);
    expect([...midranks([5, 5, 5])]).toEqual([2, 2, 2]);
  });
});

describe('mannWhitneyAuc', () => {
  it('equals the pairwise definition with ties counted as one half', () => {
    fc.assert(
      fc.property(labelled, (xs) => {
        const { s, y } = split(xs);
        expect(mannWhitneyAuc(s, y).auc).toBeCloseTo(pairwiseAuc(s, y), 12);
      }),
    );
  });

  it('is 1 for a perfect separator and 0 for a perfectly wrong one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1 }),
        fc.array(fc.double({ min: 2, max: 3, noNaN: true }), { minLength: 1 }),
        (neg, pos) => {
          const s = [...neg, ...pos];
          const y = [...neg.map(() => false), ...pos.map(() => true)];
          expect(mannWhitneyAuc(s, y).auc).toBe(1);
          expect(
            mannWhitneyAuc(
              s,
              y.map((v) => !v),
            ).auc,
          ).toBe(0);
        },
      ),
    );
  });

  it('gives 1 − AUC for the negated score', () => {
    fc.assert(
      fc.property(labelled, (xs) => {
        const { s, y } = split(xs);
        expect(
          mannWhitneyAuc(
            s.map((v) => -v),
            y,
          ).auc,
        ).toBeCloseTo(1 - mannWhitneyAuc(s, y).auc, 12);
      }),
    );
  });

  it('is invariant under strictly increasing transforms of the score', () => {
    const transforms = [
      (v: number) => Math.exp(v / 200),
      (v: number) => 3 * v + 7,
      (v: number) => Math.atan(v),
      (v: number) => v * v * v,
    ];
    fc.assert(
      fc.property(labelled, fc.constantFrom(...transforms), (xs, f) => {
        const { s, y } = split(xs);
        // Strictly increasing in exact arithmetic; float rounding may merge near values, so keep
        // the inputs well apart to make the property exact.
        const distinct = new Set(s.map(f)).size === new Set(s).size;
        fc.pre(distinct);
        expect(mannWhitneyAuc(s.map(f), y).auc).toBeCloseTo(mannWhitneyAuc(s, y).auc, 12);
      }),
    );
  });

  it('is exactly 0.5 when every score is tied', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.array(fc.boolean(), { minLength: 2 }),
        (c, y) => {
          fc.pre(y.includes(true) && y.includes(false));
          expect(
            mannWhitneyAuc(
              y.map(() => c),
              y,
            ).auc,
          ).toBe(0.5);
        },
      ),
    );
  });

  it('reports U = AUC · n₊ · n₋ and a standard error in [0, 0.5]', () => {
    fc.assert(
      fc.property(labelled, (xs) => {
        const { s, y } = split(xs);
        const r = mannWhitneyAuc(s, y);
        expect(r.u).toBeCloseTo(r.auc * r.nPos * r.nNeg, 9);
        expect(r.se).toBeGreaterThanOrEqual(0);
        expect(r.se).toBeLessThanOrEqual(0.5);
      }),
    );
  });

  it('rejects one-class input, non-finite scores and mismatched lengths with stable codes', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return err instanceof EvalError ? err.code : 'other';
      }
      return undefined;
    };
    expect(code(() => mannWhitneyAuc([1, 2], [true, true]))).toBe('EVAL_ONE_CLASS');
    expect(code(() => mannWhitneyAuc([1, Number.NaN], [true, false]))).toBe('EVAL_NON_FINITE');
    expect(code(() => mannWhitneyAuc([1, 2, 3], [true, false]))).toBe('EVAL_LENGTH_MISMATCH');
  });
});
