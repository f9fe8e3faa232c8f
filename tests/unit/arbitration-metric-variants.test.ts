import { describe, expect, it } from 'vitest';
import { ArbitrationError } from '../../src/arbitration/errors.ts';
import {
  ARBITRATION_METRICS,
  MetricEvaluator,
  isVariantMetric,
  projectionNumel,
} from '../../src/arbitration/metric.ts';
import { RunningMean } from '../../src/arbitration/running-mean.ts';
import { presetConfig } from '../../src/model/config.ts';
import { weightSpecs } from '../../src/model/weights.ts';
import type { PrismScores } from '../../src/schemas/types.ts';
import { gini } from '../../src/stats/index.ts';

const withNorms = (norms: number[] | null, g = 0.5): PrismScores => ({
  gini: g,
  kurtosis: 3,
  cv: 0.4,
  l2: 2,
  loss: 1,
  response_tokens: 4,
  truncated: false,
  norms,
});

describe('RunningMean', () => {
  it('is the element-wise mean of every vector pushed', () => {
    const m = new RunningMean();
    expect(m.value()).toHaveLength(0);
    m.push([1, 10]);
    m.push([3, 20]);
    m.push([5, 30]);
    expect(m.count).toBe(3);
    expect(Array.from(m.value())).toEqual([3, 20]);
  });

  it('returns a copy and refuses vectors of another length or non-finite entries', () => {
    const m = new RunningMean();
    m.push([1, 2]);
    m.value()[0] = 99;
    expect(m.value()[0]).toBe(1);
    expect(() => m.push([1, 2, 3])).toThrow(ArbitrationError);
    expect(() => m.push([1, Number.NaN])).toThrow(/not finite|NaN/);
    expect(m.count).toBe(1);
  });
});

describe('projectionNumel', () => {
  it('matches the model’s projection weights, in probe order (layer-major; q, k, v, o, gate, up, down)', () => {
    for (const arch of ['llama', 'qwen3'] as const) {
      for (const preset of ['tiny', 'small'] as const) {
        const c = presetConfig(preset, arch, 264);
        const fromSpecs = weightSpecs(c)
          .filter((w) => w.kind === 'linear' && w.name !== 'lm_head.weight')
          .map((w) => w.shape[0] * w.shape[1]);
        expect(projectionNumel(c)).toEqual(fromSpecs);
        expect(fromSpecs).toHaveLength(7 * c.num_hidden_layers);
      }
    }
  });
});

describe('MetricEvaluator', () => {
  it('passes the paper metrics through from the score block', () => {
    for (const m of ['gini', 'kurtosis', 'cv', 'l2'] as const) {
      expect(isVariantMetric(m)).toBe(false);
      expect(new MetricEvaluator(m).value(withNorms(null))).toBe(withNorms(null)[m]);
    }
    expect(ARBITRATION_METRICS).toEqual(['gini', 'kurtosis', 'cv', 'l2', 'gini_relative', 'gini_size']);
  });

  it('gini_size divides by √numel of each matrix', () => {
    const e = new MetricEvaluator('gini_size', [1, 4, 9]);
    expect(e.value(withNorms([1, 2, 3]))).toBe(0);
    expect(e.value(withNorms([1, 1, 1]))).toBeCloseTo(gini([1, 1 / 2, 1 / 3]), 14);
    expect(() => e.value(withNorms([1, 2]))).toThrow(/2 norms but the probe model has 3/);
    expect(() => new MetricEvaluator('gini_size')).toThrow(/projection sizes/);
  });

  it('gini_relative keeps one running mean per key, including the current vector', () => {
    const e = new MetricEvaluator('gini_relative');
    // First vector: it is its own mean → 0.
    expect(e.value(withNorms([4, 1]), 'a@1')).toBe(0);
    // Mean now [3, 2]: ratios [2/3, 3/2].
    expect(e.value(withNorms([2, 3]), 'a@1')).toBeCloseTo(gini([2 / 3, 3 / 2]), 14);
    // Another probe version starts from scratch.
    expect(e.value(withNorms([2, 3]), 'a@2')).toBe(0);
    e.forget('a@1');
    expect(e.value(withNorms([9, 1]), 'a@1')).toBe(0);
  });

  it('a record without norms is a typed NORMS_MISSING error, not a crash', () => {
    const e = new MetricEvaluator('gini_relative');
    let err: unknown;
    try {
      e.value(withNorms(null));
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(ArbitrationError);
    expect((err as ArbitrationError).code).toBe('NORMS_MISSING');
    expect((err as Error).message).toMatch(/scorer.emitNorms/);
  });
});
