/**
 * Packs built sequences into one right-padded micro-batch for next-token prediction.
 *
 * Input position t of row b holds token t and predicts token t + 1; targetMask[b, t] = 1 iff token t + 1
 * is a target. Each row is cut after its last target (later tokens cannot influence the loss under causal
 * attention, so they only cost compute), and T is the longest such row: trimming changes no loss or gradient.
 * Pads are id 0 with mask 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { BuiltSequence } from './build.ts';

export interface PackedBatch {
  B: number;
  T: number;
  /** int32 [B·T], row-major. */
  inputIds: Int32Array;
  /** int32 [B·T]: the token each position should predict (0 where masked). */
  targetIds: Int32Array;
  /** float32 [B·T]: 1 at positions p − 1 that predict an assistant token p. */
  targetMask: Float32Array;
  /** Input positions used per row (≤ T). */
  lengths: Int32Array;
  /** Targets per row. */
  targetCounts: Int32Array;
}

export function packBatch(seqs: readonly BuiltSequence[], maxSeqLen: number): PackedBatch {
  const B = seqs.length;
  const lengths = new Int32Array(B);
  seqs.forEach((s, b) => {
    const n = Math.min(s.ids.length, maxSeqLen);
    let last = 0;
    for (let p = 1; p < n; p++) if (s.isTarget[p]) last = p;
    lengths[b] = last; // positions 0..last-1 predict tokens 1..last
  });
  const T = Math.max(1, ...lengths);
  const inputIds = new Int32Array(B * T);
  const targetIds = new Int32Array(B * T);
  const targetMask = new Float32Array(B * T);
  const targetCounts = new Int32Array(B);
  seqs.forEach((s, b) => {
    for (let t = 0; t < lengths[b]; t++) {
      inputIds[b * T + t] = s.ids[t];
      if (s.isTarget[t + 1]) {
        targetIds[b * T + t] = s.ids[t + 1];
        targetMask[b * T + t] = 1;
        targetCounts[b]++;
      }
    }
  });
  return { B, T, inputIds, targetIds, targetMask, lengths, targetCounts };
}

/** The batch as tensors: inputIds/targetIds int32 [B, T], targetMask float32 [B, T]. Caller disposes. */
export function batchTensors(p: PackedBatch): {
  inputIds: tf.Tensor2D;
  targetIds: tf.Tensor2D;
  targetMask: tf.Tensor2D;
} {
  return {
    inputIds: tf.tensor2d(p.inputIds, [p.B, p.T], 'int32'),
    targetIds: tf.tensor2d(p.targetIds, [p.B, p.T], 'int32'),
    targetMask: tf.tensor2d(p.targetMask, [p.B, p.T], 'float32'),
  };
}
