import * as tf from '@tensorflow/tfjs';
import { PROJECTIONS, type Projection } from '../../src/model/weights.ts';
import type { ProbeForwardOptions, ProbeForwardResult, ProbeModel } from '../../src/scorer/probe-model.ts';

/**
 * A tiny Llama-shaped decoder for testing the gradient engine without the real model: RMS-normed
 * residual blocks with single-head causal attention (q,k,v,o) and a SwiGLU MLP (gate,up,down).
 * Embedding lookup is a one-hot matmul so every backend can differentiate it.
 */
export class ToyDecoder implements ProbeModel {
  readonly vocab: number;
  readonly d: number;
  readonly ff: number;
  readonly layers: number;
  private readonly emb: tf.Variable;
  private readonly head: tf.Variable;
  private readonly proj: tf.Variable[] = [];
  private readonly causal: Map<number, tf.Tensor2D> = new Map();

  constructor(
    opts: { vocab?: number; d?: number; ff?: number; layers?: number; seed?: number; kvOut?: number } = {},
  ) {
    this.vocab = opts.vocab ?? 13;
    this.d = opts.d ?? 8;
    this.ff = opts.ff ?? 20;
    this.layers = opts.layers ?? 2;
    const seed = opts.seed ?? 1;
    const kv = opts.kvOut ?? this.d;
    const tag = `toy${seed}_${Math.random().toString(36).slice(2, 8)}`;
    const init = (shape: [number, number], s: number, name: string): tf.Variable =>
      tf.variable(tf.randomNormal(shape, 0, 1 / Math.sqrt(shape[0]), 'float32', s), true, `${tag}/${name}`);
    this.emb = init([this.vocab, this.d], seed, 'emb');
    this.head = init([this.d, this.vocab], seed + 1, 'head');
    let s = seed + 2;
    for (let l = 0; l < this.layers; l++) {
      for (const [name, shape] of this.shapesFor(kv)) this.proj.push(init(shape, s++, `l${l}/${name}`));
    }
  }

  private shapesFor(kv: number): Array<[string, [number, number]]> {
    return [
      ['q', [this.d, kv]],
      ['k', [this.d, kv]],
      ['v', [this.d, kv]],
      ['o', [kv, this.d]],
      ['gate', [this.d, this.ff]],
      ['up', [this.d, this.ff]],
      ['down', [this.ff, this.d]],
    ];
  }

  projectionWeights(): tf.Variable[] {
    return this.proj;
  }

  namedWeights(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>([
      ['emb', this.emb],
      ['head', this.head],
    ]);
    this.proj.forEach((w) => m.set(w.name, w));
    return m;
  }

  projectionShape(layer: number, p: Projection): { in: number; out: number } {
    const [i, o] = this.proj[layer * 7 + PROJECTIONS.indexOf(p)].shape;
    return { in: i, out: o };
  }

  private mask(T: number): tf.Tensor2D {
    let m = this.causal.get(T);
    if (m === undefined) {
      const v = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -1e9;
      m = tf.keep(tf.tensor2d(v, [T, T]));
      this.causal.set(T, m);
    }
    return m;
  }

  forward(ids: tf.Tensor2D, opts: ProbeForwardOptions = {}): ProbeForwardResult {
    const [B, T] = ids.shape;
    const inputs: tf.Tensor3D[] = [];
    const rms = (x: tf.Tensor3D): tf.Tensor3D =>
      tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-5)));
    const project = (x: tf.Tensor3D, j: number): tf.Tensor3D => {
      if (opts.captureInputs === true) inputs.push(x);
      const w = this.proj[j];
      const [inF, outF] = w.shape as [number, number];
      let y = tf.reshape(tf.matMul(tf.reshape(x, [B * T, inF]), w), [B, T, outF]) as tf.Tensor3D;
      if (opts.probes !== undefined) y = tf.add(y, opts.probes[j]);
      return y;
    };
    let h = tf.reshape(tf.matMul(tf.reshape(tf.oneHot(ids, this.vocab), [B * T, this.vocab]), this.emb), [
      B,
      T,
      this.d,
    ]) as tf.Tensor3D;
    for (let l = 0; l < this.layers; l++) {
      const x = rms(h);
      const q = project(x, l * 7);
      const k = project(x, l * 7 + 1);
      const v = project(x, l * 7 + 2);
      const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(q.shape[2])), this.mask(T));
      const a = tf.matMul(tf.softmax(scores), v) as tf.Tensor3D;
      h = tf.add(h, project(a, l * 7 + 3));
      const x2 = rms(h);
      const gate = project(x2, l * 7 + 4);
      const up = project(x2, l * 7 + 5);
      const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor3D;
      h = tf.add(h, project(act, l * 7 + 6));
    }
    const logits = tf.reshape(tf.matMul(tf.reshape(rms(h), [B * T, this.d]), this.head), [
      B,
      T,
      this.vocab,
    ]) as tf.Tensor3D;
    return opts.captureInputs === true ? { logits, projectionInputs: inputs } : { logits };
  }

  dispose(): void {
    tf.dispose([this.emb, this.head, ...this.proj, ...this.causal.values()]);
  }
}

/** Masked mean next-token cross-entropy per example (what the sequence module's perExampleLoss computes). */
export function toyLoss(targets: tf.Tensor2D, mask: tf.Tensor2D) {
  return (logits: tf.Tensor3D): tf.Tensor1D =>
    tf.tidy(() => {
      const V = logits.shape[2];
      const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, V)), -1));
      return tf.div(tf.sum(tf.mul(nll, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor1D;
    });
}

export interface ToyExample {
  ids: number[];
  targets: number[];
  /** 1 where the target counts (e.g. assistant tokens). */
  mask: number[];
}

/** Random sequences of the given lengths; the first third of each is an un-scored "prompt". */
export function toyExamples(lengths: number[], vocab: number, seed = 7): ToyExample[] {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return lengths.map((n) => {
    const toks = Array.from({ length: n + 1 }, () => Math.floor(rnd() * vocab));
    return {
      ids: toks.slice(0, n),
      targets: toks.slice(1),
      mask: Array.from({ length: n }, (_, t) => (t >= Math.floor(n / 3) ? 1 : 0)),
    };
  });
}

/** Right-pads examples to the longest one: ids/targets with 0, mask with 0. */
export function toyPack(ex: ToyExample[]): { ids: tf.Tensor2D; targets: tf.Tensor2D; mask: tf.Tensor2D } {
  const T = Math.max(...ex.map((e) => e.ids.length));
  const pad = (a: number[]): number[] => [...a, ...Array<number>(T - a.length).fill(0)];
  return {
    ids: tf.tensor2d(
      ex.map((e) => pad(e.ids)),
      [ex.length, T],
      'int32',
    ),
    targets: tf.tensor2d(
      ex.map((e) => pad(e.targets)),
      [ex.length, T],
      'int32',
    ),
    mask: tf.tensor2d(
      ex.map((e) => pad(e.mask)),
      [ex.length, T],
      'float32',
    ),
  };
}
