/**
 * The primitive ops whose gradients matter for speed: dense layers, the embedding lookup and the
 * attention's batched matMuls.
 *
 * Dense y = x · Wᵀ (+ b), W stored [out, in] as in torch. Two implementations, same numbers:
 * - 'fused': matMul(x, W, false, true). Fine on the cpu and tensorflow backends.
 * - 'plain': explicit transposes around plain 2-D matMuls, forward and backward (a customGrad).
 *   On wasm only the plain non-transposed matMul with a batch of one hits the fast XNNPACK kernel;
 *   everything else (transposed or batched) runs a ~1–2 GFLOP/s loop (tfjs-backend-wasm
 *   batch_mat_mul_impl.cc).
 * 'auto' (default) picks 'plain' on wasm and 'fused' elsewhere. The same switch picks how
 * batchMatMul runs (see there).
 *
 * Frozen weights (`linear(…, { frozen: true })`, the scorer's probe pass): a customGrad's gradFunc
 * must return a tensor for every input and tfjs calls it eagerly, so the plain customGrad would form
 * dW even when nobody asked for it. The frozen variant takes W from the closure, not as an input, and
 * its backward forms dx only. The built-in matMul of 'fused' already skips unrequested gradients.
 */
import * as tf from '@tensorflow/tfjs';

export type LinearMode = 'auto' | 'fused' | 'plain';
let mode: LinearMode = 'auto';

export function setLinearMode(m: LinearMode): void {
  mode = m;
}

function usePlain(): boolean {
  return mode === 'plain' || (mode === 'auto' && tf.getBackend() === 'wasm');
}

/** y = x · Wᵀ with W frozen: differentiable in x only (W is not an input of the op). */
function frozenPlainMatMulWT(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([w]);
    return {
      value: tf.matMul(xx, tf.transpose(w)),
      // dx = dy · W, a plain matMul; no dW.
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [
        tf.matMul(dy as tf.Tensor2D, saved[0] as tf.Tensor2D),
      ],
    };
  });
  return op(x) as tf.Tensor2D;
}

const plainMatMulWT = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, tf.transpose(w as tf.Tensor2D)),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      // dx = dy · W ; dW = dyᵀ · x, both as plain matMuls.
      return [tf.matMul(g, sw), tf.matMul(tf.transpose(g), sx)];
    },
  };
});

/**
 * One-hot as float32. tfjs-backend-wasm 4.22's OneHot kernel ignores the dtype argument and writes int32
 * bits into a float32 tensor (1 reads as 1.4e-45), so build it as int32 and cast.
 */
export function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(indices as tf.Tensor1D, depth), 'float32');
}

export interface LinearOptions {
  /** Nobody differentiates w.r.t. W (or b) through this call: skip forming dW. Gradients w.r.t. W are
   *  then absent (tfjs finds no path to W), so never set it in a training step. */
  frozen?: boolean;
}

/** x [..., in] · Wᵀ + b → [..., out]. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor, opts: LinearOptions = {}): tf.Tensor {
  const [outF, inF] = w.shape as [number, number];
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, inF]) as tf.Tensor2D;
  let y: tf.Tensor;
  if (!usePlain()) y = tf.matMul(x2, w, false, true);
  else if (opts.frozen === true) y = frozenPlainMatMulWT(x2, w as tf.Tensor2D);
  else y = plainMatMulWT(x2, w);
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...lead, outF]);
}

/**
 * Embedding rows for int32 ids [B, T] → [B, T, d]. The gradient is a one-hot matMul instead of
 * gather's UnsortedSegmentSum, which wasm lacks and the cpu backend runs very slowly.
 */
export function embed(table: tf.Tensor, ids: tf.Tensor2D): tf.Tensor3D {
  const [B, T] = ids.shape;
  const [V, d] = table.shape as [number, number];
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [w, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([flat]);
    return {
      value: tf.gather(w, flat),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const oneHotT = tf.transpose(oneHotFloat(saved[0] as tf.Tensor1D, V));
        return [tf.matMul(oneHotT as tf.Tensor2D, dy as tf.Tensor2D)];
      },
    };
  });
  return tf.reshape(lookup(table), [B, T, d]) as tf.Tensor3D;
}

/**
 * a [N,m,k] · b [N,k,n] (bᵀ when transposeB: b [N,n,k]) → [N,m,n], as N plain 2-D matMuls cut on the
 * host. On wasm a batched matMul misses XNNPACK (see the module doc) and slicing on the device copies
 * the whole source per slice (the wasm Slice kernel reads the full tensor), so the operands are read
 * once and each slice becomes its own 2-D tensor: ~2× faster for the attention shapes of the tiny
 * preset (16×2 slices of 256×16·16×128). Not differentiable by itself; see batchMatMul.
 */
function slicedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [N, m, k] = a.shape;
  const n = b.shape[2];
  const ad = a.dataSync() as Float32Array;
  const bd = b.dataSync() as Float32Array;
  return tf.tidy(() => {
    const outs: tf.Tensor[] = [];
    for (let i = 0; i < N; i++) {
      const ai = tf.tensor2d(ad.subarray(i * m * k, (i + 1) * m * k), [m, k]);
      const bi = tf.tensor2d(bd.subarray(i * k * n, (i + 1) * k * n), [k, n]);
      outs.push(tf.matMul(ai, bi));
    }
    return tf.reshape(tf.concat(outs), [N, m, n]) as tf.Tensor3D;
  });
}

const swapLast = (t: tf.Tensor): tf.Tensor3D => tf.transpose(t, [0, 2, 1]) as tf.Tensor3D;

/** slicedMatMul with its gradient: dA = dy · bᵀ, dB = aᵀ · dy, each again as sliced plain matMuls. */
const plainBatchMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: slicedMatMul(a, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const g = dy as tf.Tensor3D;
        const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
        return [slicedMatMul(g, swapLast(sb)), slicedMatMul(swapLast(sa), g)];
      }),
  };
});

/** Batched a · b (or a · bᵀ) over the leading axis: tf.matMul, or sliced plain matMuls in 'plain' mode. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeB = false): tf.Tensor3D {
  if (!usePlain()) return tf.matMul(a, b, false, transposeB);
  return plainBatchMatMul(a, transposeB ? swapLast(b) : b) as tf.Tensor3D;
}

/**
 * a · b over the leading axis with optional transposes, for code that runs inside a customGrad (not
 * differentiated by tfjs): tf.matMul, or on wasm explicit transposes + sliced plain matMuls.
 */
export function matMul3(
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  transposeA: boolean,
  transposeB: boolean,
): tf.Tensor3D {
  if (!usePlain()) return tf.matMul(a, b, transposeA, transposeB);
  return slicedMatMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
}
