import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, defaultNoDecay } from '../../src/trainer/optim/adamw.ts';
import { clipByGlobalNorm, globalNorm } from '../../src/trainer/optim/clip.ts';
import { GradAccumulator } from '../../src/trainer/optim/accumulator.ts';
import { learningRate, type LrSchedule } from '../../src/trainer/optim/schedule.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

function values(v: tf.Tensor): number[] {
  return Array.from(v.dataSync());
}

describe('AdamW', () => {
  it('matches a hand-computed first and second step with decoupled weight decay', () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, 'adamw_hand_w');
    const opt = new AdamW(new Map([['w', w]]), opts);
    // Step 1: m̂ = g, v̂ = g², so the Adam direction is sign(g); θ ← θ·(1 − lr·λ) − lr·sign(g).
    opt.step(new Map([['w', tf.tensor1d([0.5, 0.1])]]), 0.1);
    const s1 = values(w);
    expect(s1[0]).toBeCloseTo(1 * (1 - 0.1 * 0.01) - 0.1, 6); // 0.899
    expect(s1[1]).toBeCloseTo(-2 * (1 - 0.1 * 0.01) - 0.1, 6); // -2.098
    // Step 2 (worked by hand): m = [-0.005, 0.029], v = [0.00049975, 0.00004999],
    // m̂ = m/0.19, v̂ = v/0.001999 → update = [-0.0526316, 0.9651771].
    opt.step(new Map([['w', tf.tensor1d([-0.5, 0.2])]]), 0.1);
    const s2 = values(w);
    expect(s2[0]).toBeCloseTo(0.899 * 0.999 + 0.1 * 0.0526316, 5);
    expect(s2[1]).toBeCloseTo(-2.098 * 0.999 - 0.1 * 0.9651771, 5);
    expect(opt.stepCount).toBe(2);
    opt.dispose();
    w.dispose();
  });

  it('equals tfjs Adam when weight decay is zero', () => {
    const init = tf.randomNormal([3, 4], 0, 1, 'float32', 7);
    const a = tf.variable(init.clone(), true, 'adamw_eq_a');
    const b = tf.variable(init.clone(), true, 'adamw_eq_b');
    const mine = new AdamW(new Map([['a', a]]), { ...opts, weightDecay: 0 });
    const ref = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
    for (let i = 0; i < 5; i++) {
      const g = tf.randomNormal([3, 4], 0, 1, 'float32', 100 + i);
      mine.step(new Map([['a', g]]), 0.01);
      ref.applyGradients([{ name: 'adamw_eq_b', tensor: g }]);
    }
    const da = values(a);
    const db = values(b);
    for (let i = 0; i < da.length; i++) expect(da[i]).toBeCloseTo(db[i], 5);
    mine.dispose();
    ref.dispose();
  });

  it('skips weight decay for parameters matched by the no-decay rule', () => {
    const w = tf.variable(tf.tensor1d([2]), true, 'adamw_nd_w');
    const n = tf.variable(tf.tensor1d([2]), true, 'adamw_nd_n');
    const opt = new AdamW(
      new Map([
        ['layer.weight', w],
        ['input_layernorm.weight', n],
      ]),
      { ...opts, weightDecay: 0.5, noDecay: defaultNoDecay(['norm']) },
    );
    const zero = tf.tensor1d([0]);
    opt.step(
      new Map([
        ['layer.weight', zero],
        ['input_layernorm.weight', zero],
      ]),
      0.1,
    );
    expect(values(w)[0]).toBeCloseTo(2 * (1 - 0.1 * 0.5), 6);
    expect(values(n)[0]).toBeCloseTo(2, 6);
    opt.dispose();
  });

  it('restores its moments and step count from a saved state', () => {
    const w1 = tf.variable(tf.tensor1d([1, 1]), true, 'adamw_st_1');
    const w2 = tf.variable(tf.tensor1d([1, 1]), true, 'adamw_st_2');
    const o1 = new AdamW(new Map([['w', w1]]), opts);
    o1.step(new Map([['w', tf.tensor1d([0.3, -0.7])]]), 0.05);
    const state = o1.getState();
    const o2 = new AdamW(new Map([['w', w2]]), opts);
    w2.assign(w1);
    o2.setState(state);
    const g = tf.tensor1d([0.1, 0.2]);
    o1.step(new Map([['w', g]]), 0.05);
    o2.step(new Map([['w', g]]), 0.05);
    expect(values(w2)).toEqual(values(w1));
    expect(o2.stepCount).toBe(2);
  });
});

describe('global-norm clipping', () => {
  it('scales every gradient by maxNorm / norm when the global norm exceeds it', () => {
    const grads = new Map([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor1d([0, 4])],
    ]);
    expect(globalNorm(grads)).toBeCloseTo(5, 6);
    const { grads: out, norm, clipped } = clipByGlobalNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 6);
    expect(clipped).toBe(true);
    expect(values(out.get('a') as tf.Tensor)[0]).toBeCloseTo(0.6, 5);
    expect(values(out.get('b') as tf.Tensor)[1]).toBeCloseTo(0.8, 5);
  });

  it('leaves gradients unchanged below the threshold', () => {
    const grads = new Map([['a', tf.tensor1d([0.3, 0.4])]]);
    const { grads: out, clipped } = clipByGlobalNorm(grads, 1);
    expect(clipped).toBe(false);
    expect(values(out.get('a') as tf.Tensor)).toEqual(values(grads.get('a') as tf.Tensor));
  });
});

describe('gradient accumulation', () => {
  it('sums micro-batch gradients and divides by the total weight, like one big batch', () => {
    const acc = new GradAccumulator();
    acc.add(new Map([['w', tf.tensor1d([2, 4])]]), 2);
    acc.add(new Map([['w', tf.tensor1d([1, 1])]]), 1);
    expect(acc.microBatches).toBe(2);
    expect(acc.totalWeight).toBe(3);
    const g = acc.take(1 / 3);
    expect(values(g.get('w') as tf.Tensor)).toEqual([1, expect.closeTo(5 / 3, 6)]);
    expect(acc.microBatches).toBe(0);
  });
});

describe('learning-rate schedule', () => {
  const base: LrSchedule = { lr: 1e-3, warmupSteps: 4, decay: 'constant', decaySteps: 0, minLrRatio: 0 };

  it('warms up linearly then stays constant', () => {
    expect(learningRate(1, base)).toBeCloseTo(2.5e-4, 12);
    expect(learningRate(4, base)).toBeCloseTo(1e-3, 12);
    expect(learningRate(1000, base)).toBeCloseTo(1e-3, 12);
  });

  it('decays by cosine to lr·minLrRatio after warm-up', () => {
    const s: LrSchedule = { ...base, decay: 'cosine', decaySteps: 10, minLrRatio: 0.1 };
    expect(learningRate(4, s)).toBeCloseTo(1e-3, 12);
    expect(learningRate(9, s)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12);
    expect(learningRate(14, s)).toBeCloseTo(1e-4, 12);
    expect(learningRate(100, s)).toBeCloseTo(1e-4, 12);
  });
});
