import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { presetConfig } from '../../src/model/config.ts';
import { autoBatchBudgetBytes, batchActivationBytes, modelWeightBytes } from '../../src/scorer/memory.ts';
import { lengthBuckets, splitIntoBuckets } from '../../src/scorer/buckets.ts';
import { initModel } from '../../src/model/llama.ts';
import { BYTE_VOCAB_SIZE } from '../../src/tokenizer/byte.ts';
import { scorerSection } from '../../src/config/scorer.ts';
import { nativeAvailable, runChild } from './native-child.ts';

const child = fileURLToPath(new URL('./scorer-memory-child.ts', import.meta.url));

describe('scorer memory budget (scorer.maxBatchMemoryMB)', () => {
  // The byte vocabulary, and Qwen's 152 k one (there the head's chunks, not the layers, set the peak).
  it.for([
    { preset: 'tiny', B: 16, T: 512, vocab: undefined },
    { preset: 'tiny', B: 4, T: 512, vocab: 151_936 },
  ])(
    'the estimate is within ±30 % of the measured peak of a batch scored under that cap ($preset $B×$T, vocab $vocab)',
    async ({ preset, B, T, vocab }, ctx) => {
      if (!(await nativeAvailable())) ctx.skip(); // the constants are fitted on the native backend
      const args = [
        preset,
        String(B),
        String(T),
        'tensorflow',
        ...(vocab === undefined ? [] : [String(vocab)]),
      ];
      const r = await runChild<{ baseRss: number; peakRss: number; estimate: number; ok: boolean }>(
        child,
        args,
      );
      expect(r.ok).toBe(true);
      const measured = r.peakRss - r.baseRss;
      expect(measured).toBeGreaterThan(0);
      expect(Math.abs(r.estimate - measured) / measured).toBeLessThanOrEqual(0.3);
    },
  );

  it('the default cap (auto) lets passes at T = 1024 really batch, and fewer rows as T grows', () => {
    expect(scorerSection.parse({}).maxBatchMemoryMB).toBe('auto');
    for (const preset of ['tiny', 'small'] as const) {
      const c = presetConfig(preset, 'llama', BYTE_VOCAB_SIZE);
      const weightBytes = modelWeightBytes(c);
      const rowsAt = (T: number): number =>
        splitIntoBuckets(new Array<number>(16).fill(T), (t) => t, {
          batchSize: 16,
          maxSeqLen: 8192,
          maxBatchBytes: 'auto',
          weightBytes,
          model: c,
        })[0].length;
      expect(rowsAt(1024)).toBeGreaterThanOrEqual(3);
      expect(rowsAt(128)).toBeGreaterThan(rowsAt(1024));
      expect(rowsAt(4096)).toBeLessThan(rowsAt(1024));
      for (const T of [128, 1024, 4096]) {
        const B = rowsAt(T);
        // A pass fits its budget (a single row always runs) and one more row would not.
        if (B > 1)
          expect(batchActivationBytes(c, B, T)).toBeLessThanOrEqual(autoBatchBudgetBytes(c, T, weightBytes));
        if (B < 16)
          expect(batchActivationBytes(c, B + 1, T)).toBeGreaterThan(autoBatchBudgetBytes(c, T, weightBytes));
      }
    }
    // Nothing grows with T²: doubling T at most a little over doubles the estimate.
    const c = presetConfig('small', 'llama', BYTE_VOCAB_SIZE);
    expect(batchActivationBytes(c, 4, 2048)).toBeLessThan(2.2 * batchActivationBytes(c, 4, 1024));
  });

  it('modelWeightBytes counts what the model holds', () => {
    for (const preset of ['tiny', 'small'] as const) {
      for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
        const model = initModel({ preset, arch, seed: 0 });
        try {
          expect(modelWeightBytes(model.config)).toBe(4 * model.parameterCount());
        } finally {
          model.dispose();
        }
      }
    }
  });

  it('the scorer evens out its passes: no more passes than greedy, rows as equal as the caps allow', () => {
    const c = presetConfig('small', 'llama', BYTE_VOCAB_SIZE);
    const limits = {
      batchSize: 16,
      maxSeqLen: 8192,
      maxBatchBytes: 'auto' as const,
      weightBytes: modelWeightBytes(c),
      model: c,
    };
    const same = new Array<number>(16).fill(128);
    const greedy = splitIntoBuckets(same, (t) => t, limits).map((b) => b.length);
    const even = lengthBuckets(same, (t) => t, limits).map((b) => b.length);
    expect(greedy).toEqual([13, 3]);
    expect(even).toEqual([8, 8]);
    // Mixed lengths: as many passes as greedy, every item once, sorted within and across passes.
    const mixed = [900, 40, 3000, 128, 128, 2048, 77, 512, 4000, 64, 1500, 256, 700, 90, 1024, 333];
    const passes = lengthBuckets(mixed, (t) => t, limits);
    expect(passes.length).toBeLessThanOrEqual(
      lengthBuckets(mixed, (t) => t, { ...limits, batchSize: 16 }).length,
    );
    expect(passes.length).toBe(
      splitIntoBuckets(
        [...mixed].sort((a, b) => a - b),
        (t) => t,
        limits,
      ).length,
    );
    expect(passes.flat()).toEqual([...mixed].sort((a, b) => a - b));
    // A batchSize already met by every pass is left alone.
    expect(lengthBuckets([5, 6, 7, 8], (t) => t, { ...limits, batchSize: 2 }).map((b) => b.length)).toEqual([
      2, 2,
    ]);
  });
});
