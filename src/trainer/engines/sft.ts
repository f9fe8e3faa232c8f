import * as tf from '@tensorflow/tfjs';
import type { BuiltSequence } from '../../sequence/index.ts';
import { batchTensors, packBatch, perExampleLoss } from '../../sequence/index.ts';
import type { MicroBatchResult, StepEngine, TrainItem } from '../types.ts';
import { buildFor, namedGrads, type SequenceSettings, type TrainableModel } from './common.ts';

/**
 * SFT: mean next-token cross-entropy over assistant tokens, with exactly the scorer's sequence
 * rule and loss (src/sequence). The micro-batch's *sum* over tokens is differentiated
 * (perExampleLoss · targetCount per row); the loop divides by the step's total tokens, so the
 * optimizer sees the token-mean over the whole (accumulated) step.
 */
export class SftEngine implements StepEngine<BuiltSequence> {
  constructor(
    private readonly model: TrainableModel,
    private readonly seq: SequenceSettings,
  ) {}

  prepare(record: Parameters<StepEngine<BuiltSequence>['prepare']>[0]) {
    const r = buildFor(record, this.seq);
    return r.ok ? ({ ok: true, prepared: r.seq } as const) : r;
  }

  computeGrads(items: readonly TrainItem<BuiltSequence>[]): MicroBatchResult {
    const packed = packBatch(
      items.map((i) => i.prepared),
      this.seq.maxSeqLen,
    );
    const t = batchTensors(packed);
    const counts = tf.tensor1d(Float32Array.from(packed.targetCounts));
    try {
      const { value, grads } = namedGrads(this.model.namedWeights(), () => {
        const { logits } = this.model.forward(t.inputIds);
        return tf.sum(tf.mul(perExampleLoss(logits, t.targetIds, t.targetMask), counts)) as tf.Scalar;
      });
      const tokens = packed.targetCounts.reduce((a, b) => a + b, 0);
      return { grads, lossSum: value, weight: tokens, tokens, stats: {} };
    } finally {
      t.inputIds.dispose();
      t.targetIds.dispose();
      t.targetMask.dispose();
      counts.dispose();
    }
  }
}
