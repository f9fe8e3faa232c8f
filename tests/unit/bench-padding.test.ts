import { describe, expect, it } from 'vitest';
import { parseDistribution, recordLengths, syntheticLengths } from '../../src/bench/padding-lengths.ts';
import {
  intoMicroBatches,
  packFirstFitDecreasing,
  paddingReport,
  paddingTable,
  type PaddingStrategy,
  type StrategyCounts,
} from '../../src/bench/padding.ts';
import { presetConfig } from '../../src/model/config.ts';
import type { BucketLimits } from '../../src/scorer/buckets.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';
import { buildSequence } from '../../src/sequence/index.ts';
import { sampleTrajectories } from './scorer-fixtures.ts';

const model = presetConfig('tiny', 'llama', 264);
/** Unit coefficients: linear FLOPs = 6·slots, attention FLOPs = 4·Σ span². */
const UNIT = { projectionParams: 1, attentionPerSquaredLength: 1 };
const limits = (o: Partial<BucketLimits> = {}): BucketLimits => ({
  batchSize: 2,
  maxSeqLen: 10,
  model,
  ...o,
});

function counts(r: ReturnType<typeof paddingReport>, s: PaddingStrategy): Omit<StrategyCounts, 'strategy'> {
  const { strategy: _s, ...rest } = r.strategies.find((x) => x.strategy === s) as StrategyCounts;
  return rest;
}

describe('first-fit-decreasing packing', () => {
  it('places each sequence, longest first, in the first row with room', () => {
    expect(packFirstFitDecreasing([5, 4, 3, 3, 2, 1], 8)).toEqual([[5, 3], [4, 3, 1], [2]]);
    expect(() => packFirstFitDecreasing([9], 8)).toThrow(/does not fit/);
  });
});

describe('paddingReport on lengths [4, 1, 3, 2], batch 2', () => {
  const r = paddingReport([[4, 1, 3, 2]], limits(), UNIT);

  it('arrival order: passes [4,1] and [3,2] padded to 4 and 3', () => {
    // slots 2·4 + 2·3 = 14; squares 2·16 + 2·9 = 50
    expect(counts(r, 'arrival')).toEqual({
      passes: 2,
      rows: 4,
      slots: 14,
      tokens: 10,
      attentionSquares: 50,
      linearFlops: 84,
      attentionFlops: 200,
      flops: 284,
    });
  });

  it('sorted (the scorer): passes [1,2] and [3,4] padded to 2 and 4', () => {
    // slots 2·2 + 2·4 = 12; squares 2·4 + 2·16 = 40
    expect(counts(r, 'sorted')).toEqual({
      passes: 2,
      rows: 4,
      slots: 12,
      tokens: 10,
      attentionSquares: 40,
      linearFlops: 72,
      attentionFlops: 160,
      flops: 232,
    });
  });

  it('packed per pass: rows [2], [1|tail 1] of T 2 and [4], [3|tail 1] of T 4, attention per segment', () => {
    // squares (4 + 1 + 1) + (16 + 9 + 1) = 32
    expect(counts(r, 'packed')).toEqual({
      passes: 2,
      rows: 4,
      slots: 12,
      tokens: 10,
      attentionSquares: 32,
      linearFlops: 72,
      attentionFlops: 128,
      flops: 200,
    });
  });

  it('packed micro-batch: rows [4], [3,1], [2|tail 2] of T 4', () => {
    // squares 16 + (9 + 1) + (4 + 4) = 34
    expect(counts(r, 'packed-mb')).toEqual({
      passes: 2,
      rows: 3,
      slots: 12,
      tokens: 10,
      attentionSquares: 34,
      linearFlops: 72,
      attentionFlops: 136,
      flops: 208,
    });
  });

  it('no padding: the lower bound, 10 slots and 1 + 4 + 9 + 16 = 30', () => {
    expect(counts(r, 'no-padding')).toMatchObject({ slots: 10, attentionSquares: 30, flops: 180 });
    expect(r).toMatchObject({ microBatches: 1, sequences: 4, tokens: 10 });
  });

  it('prints modelled counts, not timings, with each strategy against packing', () => {
    const t = paddingTable(r);
    expect(t).toMatch(/^MODELLED counts .* not timings: 4 sequences, 10 tokens, 1 micro-batches/);
    expect(t).toMatch(/sorted .* 232 .* \+16\.0 % .* \+11\.5 %/);
  });
});

describe('paddingReport uses the scorer bucketing limits', () => {
  it('maxBatchTokens 5 cuts the sorted passes into [1,2], [3], [4]', () => {
    const r = paddingReport([[4, 1, 3, 2]], limits({ maxBatchTokens: 5 }), UNIT);
    // slots 4 + 3 + 4 = 11; squares 2·4 + 9 + 16 = 33
    expect(counts(r, 'sorted')).toMatchObject({ passes: 3, rows: 4, slots: 11, attentionSquares: 33 });
  });

  it('maxSeqLen caps every length', () => {
    const r = paddingReport([[12, 3]], limits({ maxSeqLen: 10 }), UNIT);
    expect(counts(r, 'sorted')).toMatchObject({ slots: 20, tokens: 13, attentionSquares: 200 });
  });

  it('micro-batches are bucketed separately', () => {
    expect(intoMicroBatches([4, 1, 3, 2, 5], 2)).toEqual([[4, 1], [3, 2], [5]]);
    const r = paddingReport(intoMicroBatches([4, 1, 3, 2], 2), limits({ batchSize: 16 }), UNIT);
    expect(counts(r, 'sorted')).toMatchObject({ passes: 2, slots: 14 });
  });
});

describe('padding lengths', () => {
  it('parses the named distributions and says what is wrong otherwise', () => {
    expect(parseDistribution('uniform:1000-8000')).toEqual({ kind: 'uniform', min: 1000, max: 8000 });
    expect(parseDistribution('lognormal:2000:0.8')).toEqual({ kind: 'lognormal', median: 2000, sigma: 0.8 });
    expect(() => parseDistribution('uniform:9-3')).toThrow(/MIN ≤ MAX/);
    expect(() => parseDistribution('zipf:2')).toThrow(/unknown length distribution/);
  });

  it('draws seeded lengths inside the range and clipped at the longest', () => {
    const a = syntheticLengths({ kind: 'uniform', min: 1000, max: 8000 }, 500, 1, 8192);
    expect(syntheticLengths({ kind: 'uniform', min: 1000, max: 8000 }, 500, 1, 8192)).toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...a)).toBeLessThanOrEqual(8000);
    const l = syntheticLengths({ kind: 'lognormal', median: 2000, sigma: 0.8 }, 2001, 2, 4096);
    expect(Math.max(...l)).toBe(4096);
    const median = [...l].sort((x, y) => x - y)[1000];
    expect(median).toBeGreaterThan(1700);
    expect(median).toBeLessThan(2300);
  });

  it('takes record lengths from the scorer tokenisation and counts rejects by reason', () => {
    const trajs = sampleTrajectories(3);
    const noTarget = { ...trajs[0], id: 'x', turns: trajs[0].turns.slice(0, 1) };
    const opts = { tokenizer: new ByteTokenizer(), vocabSize: 264, maxSeqLen: 64 };
    const r = recordLengths([...trajs, noTarget], opts);
    expect(r.lengths).toEqual(trajs.map((t) => buildSequence(t.turns, opts).ids.length));
    expect(Object.values(r.rejected)).toEqual([1]);
  });
});
