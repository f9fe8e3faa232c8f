import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LABEL,
  confusion,
  evaluateRouting,
  formatFamilyTable,
  formatRoutingTable,
  labelOf,
  quantile,
  splitAt,
  type EvalRecord,
} from '../../src/eval/index.ts';
import { SlidingQuantile } from '../../src/arbitration/sliding-quantile.ts';
import { generate } from '../../src/gen/generate.ts';

const rec = (
  id: string,
  positive: boolean,
  gini: number,
  family = positive ? 'heat-first' : 'heat',
): EvalRecord => ({
  id,
  family,
  positive,
  scores: { gini, kurtosis: 10 - gini, cv: gini * gini, l2: 1 },
});

describe('quantile / splitAt', () => {
  it('uses the same median as the arbitrator window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }),
        (xs) => {
          const w = new SlidingQuantile(xs.length);
          xs.forEach((x) => w.push(x));
          expect(quantile(xs, 0.5)).toBe(w.quantile(0.5));
        },
      ),
    );
  });

  it('routes strictly above the threshold to RL and ties to SFT', () => {
    expect(splitAt([1, 2, 2, 3], 2)).toEqual(['SFT', 'SFT', 'SFT', 'RL']);
  });
});

describe('confusion', () => {
  it('counts RL as the positive prediction and derives the rates', () => {
    const c = confusion(['RL', 'RL', 'SFT', 'SFT', 'RL'], [true, false, true, false, true]);
    expect(c).toMatchObject({
      tp: 2,
      fp: 1,
      fn: 1,
      tn: 1,
      tpr: 2 / 3,
      fpr: 0.5,
      precision: 2 / 3,
      accuracy: 0.6,
      rlShare: 0.6,
    });
  });

  it('leaves rates without a denominator as null', () => {
    expect(confusion(['SFT'], [false])).toMatchObject({ tpr: null, precision: null, fpr: 0 });
  });
});

describe('labelOf', () => {
  it('treats prism gen conflict families as positive for family=conflict', () => {
    for (const t of generate({ n: 40, seed: 3, conflictShare: 0.5 })) {
      expect(labelOf(t.metadata, DEFAULT_LABEL)).toBe(t.metadata.conflict === 'true');
    }
  });

  it('accepts a family literally named conflict or conflict-*', () => {
    expect(labelOf({ family: 'conflict-order' }, DEFAULT_LABEL)).toBe(true);
    expect(labelOf({ family: 'conflict' }, DEFAULT_LABEL)).toBe(true);
    expect(labelOf({ family: 'pick' }, DEFAULT_LABEL)).toBe(false);
  });

  it('matches other keys exactly and leaves records without the key unlabelled', () => {
    const spec = { key: 'outcome', positive: ['failure', 'partial'] };
    expect(labelOf({ outcome: 'partial' }, spec)).toBe(true);
    expect(labelOf({ outcome: 'success' }, spec)).toBe(false);
    expect(labelOf({}, spec)).toBeNull();
    expect(labelOf({}, DEFAULT_LABEL)).toBeNull();
  });
});

describe('evaluateRouting', () => {
  const perfect = [rec('a', false, 0.1), rec('b', false, 0.2), rec('c', true, 0.8), rec('d', true, 0.9)];

  it('scores a perfect metric AUC 1 with a clean median split, and its inverse AUC 0', () => {
    const e = evaluateRouting(perfect);
    const gini = e.rows.find((r) => r.metric === 'gini' && r.router === 'prism');
    const inv = e.rows.find((r) => r.metric === 'gini' && r.router === 'inverse');
    expect(gini?.auc).toBe(1);
    expect(gini?.confusion).toMatchObject({ tp: 2, fp: 0, fn: 0, tn: 2 });
    expect(inv?.auc).toBe(0);
    expect(inv?.confusion).toMatchObject({ tp: 0, fp: 2, fn: 2, tn: 0 });
    // kurtosis = 10 − gini in the fixture: perfectly wrong.
    expect(e.rows.find((r) => r.metric === 'kurtosis' && r.router === 'prism')?.auc).toBe(0);
  });

  it('has a prism and an inverse row per metric plus one random row, and inverse AUC = 1 − AUC', () => {
    const arb = fc.array(fc.record({ p: fc.boolean(), g: fc.double({ min: 0, max: 1, noNaN: true }) }), {
      minLength: 2,
      maxLength: 60,
    });
    fc.assert(
      fc.property(arb, fc.integer(), (xs, seed) => {
        fc.pre(xs.some((x) => x.p) && xs.some((x) => !x.p));
        const e = evaluateRouting(
          xs.map((x, i) => rec(`r${i}`, x.p, x.g)),
          seed,
        );
        expect(e.rows.map((r) => `${r.metric ?? '-'}/${r.router}`)).toEqual([
          'gini/prism',
          'gini/inverse',
          'kurtosis/prism',
          'kurtosis/inverse',
          'cv/prism',
          'cv/inverse',
          'l2/prism',
          'l2/inverse',
          '-/random',
        ]);
        for (let i = 0; i < 8; i += 2)
          expect(e.rows[i + 1].auc).toBeCloseTo(1 - (e.rows[i].auc ?? Number.NaN), 12);
        // l2 is constant in the fixture: all ties.
        expect(e.rows[6].auc).toBe(0.5);
        expect(e.rows[6].confusion.rlShare).toBe(0);
      }),
    );
  });

  it('makes the random baseline a function of the seed only', () => {
    const a = evaluateRouting(perfect, 7).rows.at(-1);
    const b = evaluateRouting(perfect, 7).rows.at(-1);
    expect(a).toEqual(b);
    expect(a?.router).toBe('random');
  });

  it('adds a length baseline row when every record carries its response token count', () => {
    const e = evaluateRouting(perfect.map((r, i) => ({ ...r, responseTokens: [50, 10, 40, 20][i] })));
    const length = e.rows.at(-1);
    expect(length).toMatchObject({ router: 'length', metric: null, n: 4, threshold: 30 });
    // positives have 40 and 20 tokens, negatives 50 and 10: pairs won 2 of 4.
    expect(length?.auc).toBe(0.5);
    expect(evaluateRouting(perfect).rows.some((r) => r.router === 'length')).toBe(false);
  });

  it('drops non-finite scores per metric and counts them', () => {
    const rs = [
      ...perfect,
      { ...rec('e', true, 0.5), scores: { gini: Number.NaN, kurtosis: 1, cv: 1, l2: 1 } },
    ];
    const e = evaluateRouting(rs);
    expect(e.nonFinite.gini).toBe(1);
    expect(e.rows[0].n).toBe(4);
    expect(e.rows[2].n).toBe(5);
  });

  it('reports per-family RL shares of the median split', () => {
    const e = evaluateRouting(perfect);
    expect(e.families.map((f) => [f.family, f.n, f.positives, f.rlShare.gini])).toEqual([
      ['heat', 2, 0, 0],
      ['heat-first', 2, 2, 1],
    ]);
  });

  it('reports n/a AUC when one class is missing, without failing', () => {
    const e = evaluateRouting([rec('a', false, 1), rec('b', false, 2)]);
    expect(e.rows[0].auc).toBeNull();
    expect(formatRoutingTable(e)).toContain('n/a');
  });

  it('prints one table line per router plus the header, and a family table', () => {
    const e = evaluateRouting(perfect);
    expect(formatRoutingTable(e).split('\n')).toHaveLength(2 + 9);
    expect(formatFamilyTable(e)).toContain('heat-first');
  });
});
