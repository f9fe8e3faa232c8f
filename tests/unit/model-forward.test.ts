import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/model/errors.ts';
import { embed, setLinearMode } from '../../src/model/linear.ts';
import { initModel, PROJECTIONS, type LlamaModel } from '../../src/model/llama.ts';
import { perExampleLoss } from '../../src/sequence/loss.ts';

let model: LlamaModel;
const ids2 = [
  [259, 72, 101, 108, 108, 111, 258, 260, 72, 105, 258],
  [259, 79, 107, 258, 260, 121, 101, 115, 258, 0, 0],
];
const lens = [11, 9];

function idsTensor(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');
}

/** Next-token targets over each row's real tokens. */
function targets(rows: number[][], lengths: number[]): { t: tf.Tensor2D; m: tf.Tensor2D } {
  const T = rows[0].length;
  const t = new Int32Array(rows.length * T);
  const m = new Float32Array(rows.length * T);
  rows.forEach((r, b) => {
    for (let p = 1; p < lengths[b]; p++) {
      t[b * T + p - 1] = r[p];
      m[b * T + p - 1] = 1;
    }
  });
  return { t: tf.tensor2d(t, [rows.length, T], 'int32'), m: tf.tensor2d(m, [rows.length, T]) };
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = initModel({ preset: 'tiny', arch: 'qwen2', seed: 11 }); // qwen2: exercises q/k/v biases
});

afterAll(() => model.dispose());

describe('LlamaModel.forward', () => {
  it('exposes 7 projection weights per layer in PRISM order with HF shapes', () => {
    const c = model.config;
    const ws = model.projectionWeights();
    expect(ws).toHaveLength(7 * c.num_hidden_layers);
    const named = model.namedWeights();
    ws.forEach((w, i) => {
      const layer = Math.floor(i / 7);
      const p = PROJECTIONS[i % 7];
      const { in: inF, out } = model.projectionShape(layer, p);
      expect(w.shape).toEqual([out, inF]);
      const module = p === 'gate' || p === 'up' || p === 'down' ? `mlp.${p}_proj` : `self_attn.${p}_proj`;
      expect(named.get(`model.layers.${layer}.${module}.weight`)).toBe(w);
    });
  });

  it('gives real positions of a right-padded row the same logits as the row alone', () => {
    const batched = tf.tidy(() => model.forward(idsTensor(ids2)).logits.dataSync());
    const alone = tf.tidy(() => model.forward(idsTensor([ids2[1].slice(0, lens[1])])).logits.dataSync());
    const V = model.config.vocab_size;
    const T = ids2[0].length;
    expect(maxRel(batched.subarray(T * V, (T + lens[1]) * V), alone)).toBeLessThan(1e-6);
  });

  it('probe gradients give each example its own projection weight gradients (Dᵀ·A = ∇W of that example’s loss)', () => {
    const B = ids2.length;
    const T = ids2[0].length;
    const ws = model.projectionWeights();
    const probeShapes = ws.map((w) => [B, T, w.shape[0]]);
    const { t, m } = targets(ids2, lens);
    const ids = idsTensor(ids2);
    const probes = probeShapes.map((s) => tf.zeros(s));
    let inputs: tf.Tensor3D[] = [];
    const dProbes = tf.grads((...ps: tf.Tensor[]) => {
      const r = model.forward(ids, { probes: ps, captureInputs: true });
      inputs = r.projectionInputs as tf.Tensor3D[];
      return tf.sum(perExampleLoss(r.logits, t, m));
    })(probes);
    expect(inputs).toHaveLength(ws.length);
    // Reference: weight gradient of example 1's loss alone, from a separate single-row pass.
    const single = idsTensor([ids2[1].slice(0, lens[1])]);
    const st = targets([ids2[1].slice(0, lens[1])], [lens[1]]);
    const { grads } = tf.variableGrads(
      () => tf.sum(perExampleLoss(model.forward(single).logits, st.t, st.m)),
      ws,
    );
    for (let i = 0; i < ws.length; i++) {
      expect(inputs[i].shape).toEqual([B, T, ws[i].shape[1]]);
      const perExample = tf.tidy(() => {
        const a = tf.slice(inputs[i], [1, 0, 0], [1, T, -1]).squeeze([0]) as tf.Tensor2D;
        const d = tf.slice(dProbes[i], [1, 0, 0], [1, T, -1]).squeeze([0]) as tf.Tensor2D;
        return tf.matMul(d, a, true, false).dataSync(); // [out, in]
      });
      expect(maxRel(perExample, grads[ws[i].name].dataSync()), `projection ${i}`).toBeLessThan(1e-5);
    }
    tf.dispose([...inputs, ...dProbes, ...probes, ...Object.values(grads), ids, t, m, single, st.t, st.m]);
  });

  it('rejects probes of the wrong count or shape with BAD_FORWARD_INPUT', () => {
    const ids = idsTensor(ids2);
    const err = ((): unknown => {
      try {
        model.forward(ids, { probes: [tf.zeros([2, 11, 64])] });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('BAD_FORWARD_INPUT');
    expect(() => model.forward(tf.tensor2d([[1.5]], [1, 1]) as tf.Tensor2D)).toThrow(/int32/);
    ids.dispose();
  });

  it('computes the same logits and gradients with plain (wasm-friendly) and fused dense layers', () => {
    const ids = idsTensor(ids2);
    const { t, m } = targets(ids2, lens);
    const ws = [...model.namedWeights().values()];
    const run = (): { logits: Float32Array; grads: Float32Array[] } =>
      tf.tidy(() => {
        const logits = model.forward(ids).logits.dataSync() as Float32Array;
        const { grads } = tf.variableGrads(() => tf.sum(perExampleLoss(model.forward(ids).logits, t, m)), ws);
        return { logits, grads: ws.map((w) => grads[w.name].dataSync() as Float32Array) };
      });
    setLinearMode('fused');
    const fused = run();
    setLinearMode('plain');
    const plain = run();
    setLinearMode('auto');
    expect(maxRel(plain.logits, fused.logits)).toBeLessThan(1e-6);
    fused.grads.forEach((g, i) => expect(maxRel(plain.grads[i], g), `weight ${i}`).toBeLessThan(1e-5));
    tf.dispose([ids, t, m]);
  });

  it('keeps tf.memory().numTensors stable across repeated forward and backward calls', () => {
    const ids = idsTensor(ids2);
    const { t, m } = targets(ids2, lens);
    const ws = model.projectionWeights();
    const step = (): void => {
      tf.tidy(() => {
        model.forward(ids);
        tf.variableGrads(() => tf.sum(perExampleLoss(model.forward(ids).logits, t, m)), ws);
      });
      const r = model.forward(ids, { captureInputs: true });
      tf.dispose([r.logits, ...(r.projectionInputs ?? [])]);
    };
    step(); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ids, t, m]);
  });
});

describe('initModel', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const a = initModel({ preset: 'tiny', arch: 'llama', seed: 3 });
    const b = initModel({ preset: 'tiny', arch: 'llama', seed: 3 });
    const c = initModel({ preset: 'tiny', arch: 'llama', seed: 4 });
    const wa = (await a.weightArrays()).get('model.layers.0.self_attn.q_proj.weight') as Float32Array;
    const wb = (await b.weightArrays()).get('model.layers.0.self_attn.q_proj.weight') as Float32Array;
    const wc = (await c.weightArrays()).get('model.layers.0.self_attn.q_proj.weight') as Float32Array;
    expect(Buffer.from(wa.buffer).equals(Buffer.from(wb.buffer))).toBe(true);
    expect(Buffer.from(wa.buffer).equals(Buffer.from(wc.buffer))).toBe(false);
    // N(0, 0.02) like transformers' init.
    const mean = wa.reduce((s, x) => s + x, 0) / wa.length;
    const std = Math.sqrt(wa.reduce((s, x) => s + (x - mean) ** 2, 0) / wa.length);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.002);
    [a, b, c].forEach((x) => x.dispose());
  });

  it('has a few hundred thousand (tiny) and a few million (small) parameters', () => {
    const tiny = initModel({ preset: 'tiny', arch: 'llama', seed: 0 });
    const small = initModel({ preset: 'small', arch: 'llama', seed: 0 });
    expect(tiny.parameterCount()).toBeGreaterThan(100_000);
    expect(tiny.parameterCount()).toBeLessThan(1_000_000);
    expect(small.parameterCount()).toBeGreaterThan(1_000_000);
    expect(small.parameterCount()).toBeLessThan(10_000_000);
    tiny.dispose();
    small.dispose();
  });
});

describe('embed', () => {
  it('has the same gradient as tf.gather’s built-in one', () => {
    const table = tf.variable(tf.randomNormal([12, 5], 0, 1, 'float32', 1));
    const ids = tf.tensor2d(
      [
        [1, 3, 3],
        [0, 11, 1],
      ],
      [2, 3],
      'int32',
    );
    const r = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 2);
    const ours = tf.variableGrads(() => tf.sum(tf.mul(embed(table, ids), r)), [table]);
    const ref = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, ids), r)), [table]);
    expect(maxRel(ours.grads[table.name].dataSync(), ref.grads[table.name].dataSync())).toBeLessThan(1e-6);
    expect(maxRel(ours.value.dataSync(), ref.value.dataSync())).toBeLessThan(1e-6);
    tf.dispose([
      table,
      ids,
      r,
      ours.value,
      ref.value,
      ...Object.values(ours.grads),
      ...Object.values(ref.grads),
    ]);
  });
});
