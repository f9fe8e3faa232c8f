/**
 * The per-example loss of src/sequence/loss.ts computed from the final hidden states and a frozen LM
 * head in chunks of target positions, so the [B, T, V] logits (and their softmax, one-hot and
 * gradient, each as large) never exist at once: at most `chunkBytes` of [rows, V] logits at a time.
 *
 * Only target positions are evaluated (others add nothing to the loss or any gradient). Per chunk of
 * target rows h [c, d]: z = h·Wᵀ, nll = logsumexp(z) − h·W[target] and, in the same pass, the gradient
 * of that row's contribution, (softmax(z)·W − W[target]) / count_b. The gradient w.r.t. the hidden
 * states [B, T, d] is assembled in the forward pass and scaled by the incoming per-example gradient in
 * the backward pass (tf.customGrad): no logits are kept or recomputed. The head is frozen (taken from
 * the closure), so use this only where nobody differentiates w.r.t. the head (the scorer's paths), never
 * in a training step.
 */
import * as tf from '@tensorflow/tfjs';

/** Default cap on one chunk's [rows, V] logits (float32). */
export const HEAD_CHUNK_BYTES = 64 * 2 ** 20;

export interface HeadTargets {
  /** Batch rows and padded length of the hidden states. */
  B: number;
  T: number;
  /** int32 [B·T]: the token each position predicts. */
  targetIds: Int32Array;
  /** float32 [B·T]: 1 at target positions. */
  targetMask: Float32Array;
}

interface Plan {
  /** Flat positions b·T + t of the targets, in order. */
  rows: Int32Array;
  tokens: Int32Array;
  /** 1 / (targets of the row's example). */
  weights: Float32Array;
  /** The example each target belongs to. */
  owner: Int32Array;
}

function plan(t: HeadTargets): Plan {
  const rows: number[] = [];
  const counts = new Int32Array(t.B);
  for (let n = 0; n < t.B * t.T; n++) {
    if (t.targetMask[n] !== 0) {
      rows.push(n);
      counts[Math.floor(n / t.T)]++;
    }
  }
  const owner = Int32Array.from(rows, (n) => Math.floor(n / t.T));
  return {
    rows: Int32Array.from(rows),
    tokens: Int32Array.from(rows, (n) => t.targetIds[n]),
    weights: Float32Array.from(owner, (b) => 1 / Math.max(counts[b], 1)),
    owner,
  };
}

/** Target rows per chunk so that one chunk's logits stay within chunkBytes. */
export function headChunkRows(vocab: number, chunkBytes = HEAD_CHUNK_BYTES): number {
  return Math.max(1, Math.floor(chunkBytes / (4 * vocab)));
}

/**
 * hidden [B, T, d], head [V, d] → loss [B] (mean next-token NLL over each example's targets, 0 for an
 * example without targets), differentiable w.r.t. hidden only.
 */
export function chunkedHeadLoss(
  hidden: tf.Tensor3D,
  head: tf.Tensor2D,
  targets: HeadTargets,
  chunkBytes = HEAD_CHUNK_BYTES,
): tf.Tensor1D {
  const { B, T } = targets;
  const [V, d] = head.shape;
  const p = plan(targets);
  const M = p.rows.length;
  const step = headChunkRows(V, chunkBytes);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [h3, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    const loss = tf.tidy(() => {
      const h2 = tf.reshape(h3, [B * T, d]) as tf.Tensor2D;
      const nlls: tf.Tensor[] = [];
      const grads: tf.Tensor[] = [];
      for (let at = 0; at < M; at += step) {
        const end = Math.min(M, at + step);
        // A tidy per chunk: its [c, V] logits and probabilities are freed before the next chunk's exist.
        const [nll, grad] = tf.tidy(() => {
          const idx = tf.tensor1d(p.rows.subarray(at, end), 'int32');
          const tok = tf.tensor1d(p.tokens.subarray(at, end), 'int32');
          const w = tf.tensor2d(p.weights.subarray(at, end), [end - at, 1]);
          const h = tf.gather(h2, idx);
          const wt = tf.gather(head, tok); // W[target] [c, d]
          const z = tf.matMul(h, head, false, true); // [c, V]
          const lse = tf.logSumExp(z, 1, true); // [c, 1]
          const probs = tf.exp(tf.sub(z, lse));
          return [
            tf.sub(tf.reshape(lse, [-1]), tf.sum(tf.mul(h, wt), 1)),
            tf.mul(tf.sub(tf.matMul(probs, head), wt), w),
          ];
        });
        nlls.push(nll);
        grads.push(grad);
      }
      if (M === 0) {
        save([tf.zeros([B, T, d])]);
        return tf.zeros([B]);
      }
      // Σ over each example's targets of nll / count, as [B, M] · [M, 1] (the [B, M] weights built on the host).
      const share = new Float32Array(B * M);
      p.owner.forEach((b, m) => {
        share[b * M + m] = p.weights[m];
      });
      const weighted = tf.matMul(tf.tensor2d(share, [B, M]), tf.reshape(tf.concat(nlls), [M, 1]));
      const rowsIdx = tf.tensor2d(p.rows, [M, 1], 'int32');
      const dh = tf.reshape(tf.scatterND(rowsIdx, tf.concat(grads), [B * T, d]), [B, T, d]);
      save([dh]);
      return tf.reshape(weighted, [B]);
    });
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => [tf.mul(saved[0], tf.reshape(dy as tf.Tensor, [B, 1, 1]))]),
    };
  });
  return op(hidden) as tf.Tensor1D;
}
