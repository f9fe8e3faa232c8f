/**
 * Causal scaled dot-product attention over grouped heads with its own gradient, computed in blocks of
 * query positions, so that no [B, H, T, T] tensor ever exists: at most `ATTENTION_BLOCK_BYTES` of
 * scores per step, forward and backward, and nothing but the inputs is kept for the backward pass.
 *
 * Inputs use the GQA grouping of llama.ts: q [N, rep·T, hd] (the rep query heads of one kv head folded
 * into rows, row = j·T + t, N = B·KV), k and v [N, T, hd], an additive mask [T, T] (0 or −1e9, causal,
 * optionally sliding-window). A block of query positions [t0, t1) only sees keys [0, t1) (causality),
 * so the masked upper triangle is skipped. Per block, with P = softmax(q·kᵀ/√hd + mask):
 *   forward   O = P·v;
 *   backward  P is recomputed, dv += Pᵀ·dO, dP = dO·vᵀ, dS = P ⊙ (dP − D), D = rowsum(dO ⊙ O),
 *             dq = dS·k/√hd, dk += dSᵀ·q/√hd
 * (the standard softmax-attention gradient, FlashAttention's backward without the online softmax: D is
 * rowsum(dP ⊙ P) computed from the [T, hd] output instead of the [T, T] scores).
 * Masked entries have P = 0 exactly (exp underflows), so dS = 0 there. The 1/√hd scale is applied to q
 * ([T, hd] per head) rather than to the [T, T] scores: three fewer passes over the scores per layer.
 *
 * `output`: the value O this op would compute for these q, k, v, e.g. kept from an earlier forward over
 * the same inputs (the layer-wise backward recomputes each block, src/scorer/layerwise.ts). The forward
 * blocks are then skipped; the gradient is the same, computed from q, k and v.
 */
import * as tf from '@tensorflow/tfjs';
import { matMul3 } from './linear.ts';

/** Cap on one block's [N, rep·rows, keys] scores (float32). */
export const ATTENTION_BLOCK_BYTES = 16 * 2 ** 20;

interface Shape {
  N: number;
  rep: number;
  T: number;
  hd: number;
  scale: number;
  rows: number;
}

/** Query positions [t0, t1) of q4 [N, rep, T, hd] as [N, rep·(t1−t0), hd]. */
function queryBlock(q4: tf.Tensor4D, s: Shape, t0: number, t1: number): tf.Tensor3D {
  return tf.reshape(tf.slice(q4, [0, 0, t0, 0], [s.N, s.rep, t1 - t0, s.hd]), [s.N, s.rep * (t1 - t0), s.hd]);
}

/** Keys/values [0, t1) of [N, T, hd]. */
function keyPrefix(k: tf.Tensor3D, s: Shape, t1: number): tf.Tensor3D {
  return t1 === s.T ? k : tf.slice(k, [0, 0, 0], [s.N, t1, s.hd]);
}

/** P for a query block: [N, rep·r, t1]. */
function blockProbs(
  qb: tf.Tensor3D,
  kp: tf.Tensor3D,
  mask: tf.Tensor,
  s: Shape,
  t0: number,
  t1: number,
): tf.Tensor3D {
  const r = t1 - t0;
  const scores = matMul3(qb, kp, false, true); // qb is pre-scaled by 1/√hd
  const m = tf.slice(mask, [t0, 0], [r, t1]);
  const p = tf.softmax(tf.add(tf.reshape(scores, [s.N, s.rep, r, t1]), m), -1);
  return tf.reshape(p, [s.N, s.rep * r, t1]) as tf.Tensor3D;
}

/** q · 1/√hd as [N, rep, T, hd]. */
function scaledQueries(q: tf.Tensor3D, s: Shape): tf.Tensor4D {
  return tf.tidy(() => tf.reshape(tf.mul(q, s.scale), [s.N, s.rep, s.T, s.hd]) as tf.Tensor4D);
}

function blocks(s: Shape): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t0 = 0; t0 < s.T; t0 += s.rows) out.push([t0, Math.min(s.T, t0 + s.rows)]);
  return out;
}

function forwardBlocks(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor,
  s: Shape,
): tf.Tensor3D {
  const q4 = scaledQueries(q, s);
  const outs = blocks(s).map(([t0, t1]) =>
    tf.tidy(() => {
      const p = blockProbs(queryBlock(q4, s, t0, t1), keyPrefix(k, s, t1), mask, s, t0, t1);
      return tf.reshape(matMul3(p, keyPrefix(v, s, t1), false, false), [s.N, s.rep, t1 - t0, s.hd]);
    }),
  );
  const o = tf.reshape(tf.concat(outs, 2), [s.N, s.rep * s.T, s.hd]) as tf.Tensor3D;
  tf.dispose([...outs, q4]);
  return o;
}

function backwardBlocks(
  dy: tf.Tensor3D,
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor,
  o: tf.Tensor3D,
  s: Shape,
): tf.Tensor[] {
  const q4 = scaledQueries(q, s);
  const dy4 = tf.reshape(dy, [s.N, s.rep, s.T, s.hd]) as tf.Tensor4D;
  const d4 = tf.tidy(() => tf.reshape(tf.sum(tf.mul(dy, o), -1), [s.N, s.rep, s.T, 1]) as tf.Tensor4D);
  let dk: tf.Tensor = tf.zeros([s.N, s.T, s.hd]);
  let dv: tf.Tensor = tf.zeros([s.N, s.T, s.hd]);
  const dqs: tf.Tensor[] = [];
  for (const [t0, t1] of blocks(s)) {
    const [dqb, dkNext, dvNext] = tf.tidy(() => {
      const qb = queryBlock(q4, s, t0, t1);
      const dO = queryBlock(dy4, s, t0, t1);
      const kp = keyPrefix(k, s, t1);
      const vp = keyPrefix(v, s, t1);
      const p = blockProbs(qb, kp, mask, s, t0, t1);
      const dp = matMul3(dO, vp, false, true);
      const db = tf.reshape(tf.slice(d4, [0, 0, t0, 0], [s.N, s.rep, t1 - t0, 1]), [s.N, s.rep * (t1 - t0), 1]);
      const ds = tf.mul(p, tf.sub(dp, db)) as tf.Tensor3D;
      const pad = (t: tf.Tensor): tf.Tensor =>
        t1 === s.T
          ? t
          : tf.pad(t, [
              [0, 0],
              [0, s.T - t1],
              [0, 0],
            ]);
      const dq = tf.reshape(tf.mul(matMul3(ds, kp, false, false), s.scale), [s.N, s.rep, t1 - t0, s.hd]);
      return [
        dq,
        tf.add(dk, pad(matMul3(ds, qb, true, false))),
        tf.add(dv, pad(matMul3(p, dO, true, false))),
      ];
    });
    dk.dispose();
    dv.dispose();
    dk = dkNext;
    dv = dvNext;
    dqs.push(dqb);
  }
  const dq = tf.reshape(tf.concat(dqs, 2), [s.N, s.rep * s.T, s.hd]);
  tf.dispose([...dqs, q4, d4]);
  return [dq, dk, dv];
}

export interface AttentionOptions {
  /** Cap on one block's scores (default ATTENTION_BLOCK_BYTES). */
  blockBytes?: number;
  /** O for these very q, k, v, already computed (see the header): returned (cloned) instead of recomputed. */
  output?: tf.Tensor3D;
}

/** Attention output [N, rep·T, hd]; differentiable in q, k and v (the mask is a constant). */
export function attention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor,
  opts: AttentionOptions = {},
): tf.Tensor3D {
  const blockBytes = opts.blockBytes ?? ATTENTION_BLOCK_BYTES;
  const given = opts.output;
  const [N, repT, hd] = q.shape;
  const T = k.shape[1];
  const rep = repT / T;
  const rows = Math.max(1, Math.min(T, Math.floor(blockBytes / (4 * N * rep * T))));
  const s: Shape = { N, rep, T, hd, scale: 1 / Math.sqrt(hd), rows };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qq, kk, vv, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    const value = given === undefined ? forwardBlocks(qq, kk, vv, mask, s) : tf.clone(given);
    // The mask is saved too: the forward's tidy scope disposes it before the backward pass runs.
    save([qq, kk, vv, mask, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sq, sk, sv, sm, so] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor, tf.Tensor3D];
        return backwardBlocks(dy as tf.Tensor3D, sq, sk, sv, sm, so, s);
      },
    };
  });
  return op(q, k, v) as tf.Tensor3D;
}
