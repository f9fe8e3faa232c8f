import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeBackendStatus } from '../../src/backend/native-check.ts';

// Runs only where `npm run setup:native` (or a stock tfjs-node install) produced the native addon.
const native = nativeBackendStatus('@tensorflow/tfjs-node');
if (!native.available) {
  console.warn(`[native-backend.test] skipped: ${native.reason}`);
}

/** Deterministic pseudo-random values in [-1, 1) (no tf.random: its kernels differ per backend). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** A two-layer MLP's cross-entropy and its gradients: matmul, relu, logSoftmax, reductions and their backward kernels. */
function mlpLossAndGrads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor2d(values(8 * 16, 1), [8, 16]);
    const w1 = tf.tensor2d(values(16 * 32, 2), [16, 32]);
    const w2 = tf.tensor2d(values(32 * 5, 3), [32, 5]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5);
    const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
      tf.neg(
        tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(tf.matMul(tf.relu(tf.matMul(x, a)), b))), 1)),
      ) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(loss)([w1, w2]);
    return [value, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/** max|a-b| / max|b|: relative error of the whole tensor, robust to entries near zero. */
function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

describe.skipIf(!native.available)('native tensorflow backend (tfjs-node)', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('agrees with the cpu backend on an MLP loss and its gradients within 1e-4', async () => {
    const spec: string = native.package;
    await import(spec);
    expect(await tf.setBackend('tensorflow')).toBe(true);
    expect(tf.getBackend()).toBe('tensorflow');
    const onNative = mlpLossAndGrads();

    await tf.setBackend('cpu');
    const onCpu = mlpLossAndGrads();

    expect(onNative.map((t) => t.length)).toEqual([1, 16 * 32, 32 * 5]);
    for (let i = 0; i < onCpu.length; i++) {
      expect(relErr(onNative[i], onCpu[i])).toBeLessThan(1e-4);
    }
    expect(Math.abs(onCpu[1].reduce((s, v) => s + Math.abs(v), 0))).toBeGreaterThan(0);
  });
});
