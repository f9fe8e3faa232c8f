/**
 * The wasm-friendly primitives of src/model/linear.ts give the numbers of the plain tfjs ops:
 * batchMatMul as sliced plain 2-D matMuls (values and both gradients, with and without transposeB),
 * and frozen-weight dense layers (same input and probe gradients, but no weight-gradient matMuls).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { batchMatMul, linear, setLinearMode } from '../../src/model/linear.ts';
import { initModel } from '../../src/model/llama.ts';
import { PROJECTIONS } from '../../src/model/weights.ts';
import { perExampleLoss } from '../../src/sequence/loss.ts';

/** Deterministic values in [-1, 1) (tf.random differs per backend). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

afterEach(() => setLinearMode('auto'));
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(['cpu', 'wasm'])('batchMatMul on %s', (backend) => {
  it.each([false, true])(
    'plain (sliced) equals tf.matMul in value and in both gradients (transposeB %s)',
    async (transposeB) => {
      await tf.setBackend(backend);
      const [N, m, k, n] = [6, 5, 4, 3];
      const a = tf.tensor3d(values(N * m * k, 1), [N, m, k]);
      const b = tf.tensor3d(values(N * k * n, 2), transposeB ? [N, n, k] : [N, k, n]);
      const w = tf.tensor3d(values(N * m * n, 3), [N, m, n]); // makes the loss weight every output
      const run = (): Float32Array[] =>
        tf.tidy(() => {
          const f = (x: tf.Tensor, y: tf.Tensor): tf.Scalar =>
            tf.sum(tf.mul(batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D, transposeB), w));
          const { value, grads } = tf.valueAndGrads(f)([a, b]);
          const out = batchMatMul(a, b, transposeB);
          return [out, value, ...grads].map((t) => t.dataSync() as Float32Array);
        });
      const before = tf.memory().numTensors;
      setLinearMode('fused');
      const fused = run();
      setLinearMode('plain');
      const plain = run();
      expect(tf.memory().numTensors).toBe(before);
      expect(plain.map((t) => t.length)).toEqual([N * m * n, 1, N * m * k, N * k * n]);
      plain.forEach((t, i) => expect(maxRel(t, fused[i]), `output ${i}`).toBeLessThan(1e-6));
      tf.dispose([a, b, w]);
    },
  );
});

describe('frozen-weight dense layers', () => {
  it('give the same input gradient as plain linear layers and no weight gradient', async () => {
    await tf.setBackend('cpu');
    setLinearMode('plain');
    const x = tf.tensor2d(values(6 * 4, 4), [6, 4]);
    const w = tf.variable(tf.tensor2d(values(3 * 4, 5), [3, 4]));
    const dx = (frozen: boolean): Float32Array =>
      tf.tidy(() => {
        const [g] = tf.grads((xx: tf.Tensor) => tf.sum(tf.square(linear(xx, w, undefined, { frozen }))))([x]);
        return g.dataSync() as Float32Array;
      });
    expect(maxRel(dx(true), dx(false))).toBe(0);
    // W is not an input of the frozen op, so tfjs finds no path from it to the loss.
    expect(() =>
      tf.variableGrads(() => tf.sum(linear(x, w, undefined, { frozen: true })) as tf.Scalar, [w]),
    ).toThrow();
    tf.dispose([x, w]);
  });

  it('make the model’s probe pass give the same probe gradients with fewer matMuls (wasm)', async () => {
    await tf.setBackend('wasm');
    const model = initModel({ preset: 'tiny', arch: 'qwen3', seed: 3 });
    const [B, T] = [2, 12];
    const ids = tf.tensor2d(
      Int32Array.from(values(B * T, 6), (v) => Math.floor((v + 1) * 100)),
      [B, T],
      'int32',
    );
    const tgt = tf.tensor2d(
      Int32Array.from(values(B * T, 7), (v) => Math.floor((v + 1) * 100)),
      [B, T],
      'int32',
    );
    const mask = tf.ones([B, T]) as tf.Tensor2D;
    const L = model.config.num_hidden_layers;
    const probes = Array.from({ length: L * PROJECTIONS.length }, (_, j) =>
      tf.zeros([
        B,
        T,
        model.projectionShape(Math.floor(j / PROJECTIONS.length), PROJECTIONS[j % PROJECTIONS.length]).out,
      ]),
    );
    const probeGrads = async (frozen: boolean): Promise<{ grads: Float32Array[]; matMuls: number }> => {
      let grads: Float32Array[] = [];
      const profile = await tf.profile(() => {
        grads = tf.tidy(() =>
          tf
            .grads((...ps: tf.Tensor[]) =>
              tf.sum(
                perExampleLoss(model.forward(ids, { probes: ps, frozenWeights: frozen }).logits, tgt, mask),
              ),
            )(probes)
            .map((g) => g.dataSync() as Float32Array),
        );
      });
      return { grads, matMuls: profile.kernels.filter((k) => k.name === 'BatchMatMul').length };
    };
    const plain = await probeGrads(false);
    const frozen = await probeGrads(true);
    expect(plain.grads).toHaveLength(7 * L);
    frozen.grads.forEach((g, j) => expect(maxRel(g, plain.grads[j]), `probe ${j}`).toBe(0));
    expect(frozen.matMuls).toBeLessThan(plain.matMuls);
    tf.dispose([ids, tgt, mask, ...probes]);
    model.dispose();
  });
});
