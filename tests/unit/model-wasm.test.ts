/**
 * The model and the shared loss give the same numbers on the wasm backend as on cpu.
 * Regression for tfjs-backend-wasm 4.22's OneHot kernel ignoring its dtype (float one-hots read as ~1e-45,
 * which zeroed the loss's target term and the embedding gradient); see oneHotFloat in src/model/linear.ts.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { initModel } from '../../src/model/llama.ts';
import { perExampleLoss } from '../../src/sequence/loss.ts';

async function lossAndGradNorms(backend: string): Promise<number[]> {
  await tf.setBackend(backend);
  await tf.ready();
  const m = initModel({ preset: 'tiny', arch: 'qwen3', seed: 2 });
  const out = tf.tidy(() => {
    const ids = tf.tensor2d(
      Int32Array.from({ length: 32 }, (_, i) => (i * 7) % 264),
      [2, 16],
      'int32',
    );
    const targets = tf.tensor2d(
      Int32Array.from({ length: 32 }, (_, i) => (i * 5) % 264),
      [2, 16],
      'int32',
    );
    const mask = tf.ones([2, 16]) as tf.Tensor2D;
    const ws = [...m.namedWeights().values()];
    const { value, grads } = tf.variableGrads(
      () => tf.sum(perExampleLoss(m.forward(ids).logits, targets, mask)),
      ws,
    );
    return [value.dataSync()[0], ...ws.map((w) => tf.norm(grads[w.name]).dataSync()[0])];
  });
  m.dispose();
  return out;
}

describe('wasm backend', () => {
  it('matches cpu on loss and every weight-gradient norm (embedding included)', async () => {
    const cpu = await lossAndGradNorms('cpu');
    const wasm = await lossAndGradNorms('wasm');
    expect(cpu[1]).toBeGreaterThan(0); // embedding gradient is not trivially zero
    wasm.forEach((x, i) =>
      expect(Math.abs(x - cpu[i]), `entry ${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu[i]))),
    );
  });
});
