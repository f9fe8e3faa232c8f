/**
 * The two primitive ops whose gradients matter for speed: dense layers and the embedding lookup.
 *
 * Dense y = x · Wᵀ (+ b), W stored [out, in] as in torch. Two implementations, same numbers:
 * - 'fused': matMul(x, W, false, true). Fine on the cpu and tensorflow backends.
 * - 'plain': explicit transposes around plain 2-D matMuls, forward and backward (a customGrad).
 *   On wasm only the plain non-transposed matMul hits the fast XNNPACK kernel (tfjs-cpu-facts).
 * 'auto' (default) picks 'plain' on wasm and 'fused' elsewhere.
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

/** x [..., in] · Wᵀ + b → [..., out]. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [outF, inF] = w.shape as [number, number];
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, inF]) as tf.Tensor2D;
  let y: tf.Tensor = usePlain() ? plainMatMulWT(x2, w) : tf.matMul(x2, w, false, true);
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
