/**
 * Scaled dot-product attention over grouped heads with its own gradient, so the [B, H, T, T] score
 * and probability tensors never outlive one layer's forward or backward step.
 *
 * Inputs use the GQA grouping of llama.ts: q [N, rep·T, hd] (the rep query heads of one kv head
 * folded into rows, N = B·KV), k and v [N, T, hd], an additive mask [T, T] (0 or −1e9). Autodiff
 * through softmax would keep the scores, the masked scores, the probabilities and their gradients of
 * every layer alive until the backward pass reaches it (6·L·H·T² floats per sequence). Here the
 * forward keeps nothing but its inputs; the backward recomputes P = softmax(q·kᵀ/√hd + mask) for its
 * layer only and forms
 *   dv = Pᵀ·dO,  dP = dO·vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dq = dS·k/√hd,  dk = dSᵀ·q/√hd,
 * the standard softmax-attention gradient (FlashAttention's backward, without tiling). Masked entries
 * have P = 0 exactly, so dS = 0 there. Cost: one extra QKᵀ + softmax per layer in the backward pass.
 */
import * as tf from '@tensorflow/tfjs';
import { matMul3 } from './linear.ts';

/** softmax(q·kᵀ·scale + mask) as [N, rep·T, T]. */
function probabilities(q: tf.Tensor3D, k: tf.Tensor3D, mask: tf.Tensor, scale: number): tf.Tensor3D {
  const [N, rows] = q.shape;
  const T = k.shape[1];
  const s = tf.mul(matMul3(q, k, false, true), scale);
  const masked = tf.add(tf.reshape(s, [N, rows / T, T, T]), mask);
  return tf.reshape(tf.softmax(masked, -1), [N, rows, T]) as tf.Tensor3D;
}

/** Attention output [N, rep·T, hd]; differentiable in q, k and v (the mask is a constant). */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor): tf.Tensor3D {
  const scale = 1 / Math.sqrt(q.shape[2]);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qq, kk, vv, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    // The mask is saved too: the forward's tidy scope disposes it before the backward pass runs.
    save([qq, kk, vv, mask]);
    return {
      value: tf.tidy(() => matMul3(probabilities(qq, kk, mask, scale), vv, false, false)),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const dO = dy as tf.Tensor3D;
          const [sq, sk, sv, sm] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor];
          const p = probabilities(sq, sk, sm, scale);
          const dv = matMul3(p, dO, true, false);
          const dp = matMul3(dO, sv, false, true);
          const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))) as tf.Tensor3D;
          const dq = tf.mul(matMul3(ds, sk, false, false), scale);
          const dk = tf.mul(matMul3(ds, sq, true, false), scale);
          return [dq, dk, dv];
        }),
    };
  });
  return op(q, k, v) as tf.Tensor3D;
}
