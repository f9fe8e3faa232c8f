import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchedProbeNorms,
  chooseNormMethod,
  perTrajectoryNorms,
  referenceNorms,
  type NormMethodSetting,
  type SplitMode,
} from '../../src/scorer/norms.ts';
import { ToyDecoder, toyExamples, toyLoss, toyPack, type ToyExample } from './scorer-toy-model.ts';

const LENGTHS = [9, 4, 12, 1, 7];

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-6));
  return m;
}

async function batched(
  model: ToyDecoder,
  ex: ToyExample[],
  normMethod: NormMethodSetting = 'auto',
  split: SplitMode = 'auto',
) {
  const p = toyPack(ex);
  try {
    const lengths = ex.map((e) => e.ids.length);
    return await batchedProbeNorms(model, p.ids, toyLoss(p.targets, p.mask), { normMethod, split, lengths });
  } finally {
    tf.dispose([p.ids, p.targets, p.mask]);
  }
}

async function oneByOne(model: ToyDecoder, ex: ToyExample[], ref = false) {
  const out = [];
  for (const e of ex) {
    const p = toyPack([e]);
    try {
      out.push(await (ref ? referenceNorms : perTrajectoryNorms)(model, p.ids, toyLoss(p.targets, p.mask)));
    } finally {
      tf.dispose([p.ids, p.targets, p.mask]);
    }
  }
  return out;
}

describe.each(['cpu', 'wasm'])('gradient norms on the %s backend', (backend) => {
  let model: ToyDecoder;
  let ex: ToyExample[];

  beforeAll(async () => {
    await tf.setBackend(backend);
    // kvOut ≠ d gives GQA-like k/v shapes, so ghost and outer are both exercised under 'auto'.
    model = new ToyDecoder({ vocab: 13, d: 8, ff: 24, layers: 2, kvOut: 4, seed: 3 });
    ex = toyExamples(LENGTHS, model.vocab);
  });
  afterAll(() => model.dispose());

  for (const [method, split] of [
    ['ghost', 'device'],
    ['outer', 'device'],
    ['ghost', 'host'],
    ['outer', 'host'],
    ['auto', 'auto'],
  ] as const) {
    it(`batched ${method}/${split} norms of padded mixed-length examples equal the one-at-a-time weight gradients`, async () => {
      const got = await batched(model, ex, method, split);
      const want = await oneByOne(model, ex);
      expect(got.norms).toHaveLength(LENGTHS.length);
      for (let i = 0; i < ex.length; i++) {
        expect(got.norms[i]).toHaveLength(14);
        expect(maxRelErr(got.norms[i], want[i].norms[0])).toBeLessThan(1e-4);
        expect(got.losses[i]).toBeCloseTo(want[i].losses[0], 5);
      }
    });
  }

  it('the per-trajectory path equals the paper reference (full backward over all weights)', async () => {
    const a = await oneByOne(model, ex.slice(0, 2));
    const b = await oneByOne(model, ex.slice(0, 2), true);
    for (let i = 0; i < 2; i++) expect(maxRelErr(a[i].norms[0], b[i].norms[0])).toBeLessThan(1e-6);
  });

  it('permuting the batch permutes the norms', async () => {
    const perm = [3, 0, 4, 2, 1];
    const a = await batched(model, ex);
    const b = await batched(
      model,
      perm.map((i) => ex[i]),
    );
    perm.forEach((src, dst) => expect(maxRelErr(b.norms[dst], a.norms[src])).toBeLessThan(1e-5));
  });

  it('leaves no tensors behind across many batches', async () => {
    await batched(model, ex);
    await oneByOne(model, ex.slice(0, 1));
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) {
      await batched(model, ex.slice(k % 3), k % 2 === 0 ? 'ghost' : 'outer', k % 3 === 0 ? 'host' : 'device');
      await oneByOne(model, ex.slice(k, k + 1));
      await oneByOne(model, ex.slice(k, k + 1), true);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('finite differences', () => {
  let model: ToyDecoder;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = new ToyDecoder({ vocab: 11, d: 8, ff: 16, layers: 2, seed: 5 });
  });
  afterAll(() => model.dispose());

  it('the batched norm equals the central-difference slope of the loss along the gradient direction', async () => {
    const ex = toyExamples([10, 6], model.vocab, 11);
    const got = await batched(model, ex);
    const e = ex[1];
    const p = toyPack([e]);
    const loss = (): number =>
      tf.tidy(() => toyLoss(p.targets, p.mask)(model.forward(p.ids).logits).dataSync()[0]);
    // q of layer 0, o of layer 1, down of layer 1: attention, residual and MLP paths.
    for (const j of [0, 10, 13]) {
      const w = model.projectionWeights()[j];
      const original = w.clone();
      const dir = tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.sum(toyLoss(p.targets, p.mask)(model.forward(p.ids).logits)) as tf.Scalar,
          [w],
        );
        const g = grads[w.name];
        return tf.div(g, tf.norm(g));
      });
      // fp32 loss ≈ 2.4 carries ~3e-7 rounding; eps 3e-3 keeps that and the O(eps²) curvature term < 1e-3 relative.
      const eps = 3e-3;
      w.assign(tf.tidy(() => tf.add(original, tf.mul(dir, eps))));
      const up = loss();
      w.assign(tf.tidy(() => tf.sub(original, tf.mul(dir, eps))));
      const down = loss();
      w.assign(original);
      const slope = (up - down) / (2 * eps);
      expect(Math.abs(slope - got.norms[1][j]) / got.norms[1][j]).toBeLessThan(2e-3);
      tf.dispose([original, dir]);
    }
    tf.dispose([p.ids, p.targets, p.mask]);
  });
});

describe('chooseNormMethod', () => {
  it('uses the ghost identity only where T·(in+out) < in·out, unless overridden', () => {
    expect(chooseNormMethod(128, { in: 4096, out: 4096 })).toBe('ghost');
    expect(chooseNormMethod(4096, { in: 4096, out: 1024 })).toBe('outer');
    expect(chooseNormMethod(64, { in: 128, out: 128 })).toBe('outer');
    expect(chooseNormMethod(63, { in: 128, out: 128 })).toBe('ghost');
    expect(chooseNormMethod(4096, { in: 64, out: 64 }, 'ghost')).toBe('ghost');
  });
});
