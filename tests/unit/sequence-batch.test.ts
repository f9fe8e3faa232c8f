import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initModel } from '../../src/model/llama.ts';
import type { BuiltSequence } from '../../src/sequence/build.ts';
import { batchTensors, packBatch } from '../../src/sequence/batch.ts';
import { perExampleLoss } from '../../src/sequence/loss.ts';

/** A valid built sequence: random ids and a mask with at least one target at p ≥ 1. */
const builtSeq = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 99 }), fc.boolean()), { minLength: 2, maxLength: 20 })
  .filter((xs) => xs.some(([, t], p) => p >= 1 && t))
  .map((xs): BuiltSequence => {
    const isTarget = Uint8Array.from(xs, ([, t], p) => (p >= 1 && t ? 1 : 0));
    return {
      ids: Int32Array.from(xs, ([id]) => id),
      isTarget,
      targetCount: isTarget.reduce((a, b) => a + b, 0),
      truncated: false,
      fullLength: xs.length,
    };
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('packBatch', () => {
  it('puts token t at input t and marks position t iff token t+1 is a target; rows end at their last target', () => {
    fc.assert(
      fc.property(fc.array(builtSeq, { minLength: 1, maxLength: 5 }), (seqs) => {
        const p = packBatch(seqs, 1000);
        const last = seqs.map((s) => s.isTarget.lastIndexOf(1));
        expect(p.T).toBe(Math.max(...last));
        seqs.forEach((s, b) => {
          expect(p.lengths[b]).toBe(last[b]);
          expect(p.targetCounts[b]).toBe(s.targetCount);
          for (let t = 0; t < p.T; t++) {
            const i = b * p.T + t;
            const inRow = t < last[b];
            expect(p.inputIds[i]).toBe(inRow ? s.ids[t] : 0);
            expect(p.targetMask[i]).toBe(inRow && s.isTarget[t + 1] ? 1 : 0);
            expect(p.targetIds[i]).toBe(p.targetMask[i] ? s.ids[t + 1] : 0);
          }
        });
      }),
    );
  });
});

describe('perExampleLoss', () => {
  it('is the mean over each row’s targets of −log softmax(logits)[target], and 0 for a row without targets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 2, max: 7 }),
        fc.integer(),
        (B, T, V, seed) => {
          const logits = tf.randomNormal([B, T, V], 0, 3, 'float32', seed) as tf.Tensor3D;
          const l = logits.arraySync();
          const tgt = Array.from({ length: B }, (_, b) =>
            Array.from({ length: T }, (_, t) => (((b * 7 + t * 3 + seed) % V) + V) % V),
          );
          const mask = Array.from({ length: B }, (_, b) =>
            Array.from({ length: T }, (_, t) => (Math.abs(b + t + seed) % 3 === 0 ? 0 : 1)),
          );
          mask[B - 1] = mask[B - 1].map(() => 0); // last row: no targets
          const ours = tf.tidy(() =>
            perExampleLoss(logits, tf.tensor2d(tgt, [B, T], 'int32'), tf.tensor2d(mask, [B, T])).arraySync(),
          );
          const ref = l.map((row, b) => {
            let s = 0;
            let n = 0;
            row.forEach((z, t) => {
              if (!mask[b][t]) return;
              const m = Math.max(...z);
              const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
              s += lse - z[tgt[b][t]];
              n++;
            });
            return n ? s / n : 0;
          });
          ours.forEach((x, b) => expect(x).toBeCloseTo(ref[b], 4));
          expect(ours[B - 1]).toBe(0);
          logits.dispose();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('gives the same loss for a trimmed, right-padded batch as for each full sequence alone', () => {
    const model = initModel({ preset: 'tiny', arch: 'llama', seed: 9 });
    const mk = (ids: number[], targetFrom: number, targetTo: number): BuiltSequence => {
      const isTarget = Uint8Array.from(ids, (_, p) => (p >= targetFrom && p < targetTo ? 1 : 0));
      return {
        ids: Int32Array.from(ids),
        isTarget,
        targetCount: targetTo - targetFrom,
        truncated: false,
        fullLength: ids.length,
      };
    };
    // Row 0 has a trailing non-target turn: trimming must not change its loss.
    const seqs = [mk([259, 1, 2, 3, 260, 4, 5, 258, 259, 9, 9, 9], 5, 8), mk([259, 7, 260, 8, 258], 3, 5)];
    const packed = packBatch(seqs, 64);
    expect(packed.T).toBe(7);
    const batched = tf.tidy(() => {
      const t = batchTensors(packed);
      return perExampleLoss(model.forward(t.inputIds).logits, t.targetIds, t.targetMask).arraySync();
    });
    seqs.forEach((s, b) => {
      // Untrimmed reference: whole sequence as input, targets for positions p-1 with isTarget[p].
      const n = s.ids.length;
      const alone = tf.tidy(() => {
        const tg = new Int32Array(n);
        const m = new Float32Array(n);
        for (let p = 1; p < n; p++) if (s.isTarget[p]) [tg[p - 1], m[p - 1]] = [s.ids[p], 1];
        const logits = model.forward(tf.tensor2d(s.ids, [1, n], 'int32')).logits;
        return perExampleLoss(
          logits,
          tf.tensor2d(tg, [1, n], 'int32'),
          tf.tensor2d(m, [1, n]),
        ).arraySync()[0];
      });
      expect(batched[b]).toBeCloseTo(alone, 5);
    });
    model.dispose();
  });
});
