import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attention } from '../../src/model/attention.ts';
import { initModel, type LlamaModel } from '../../src/model/index.ts';
import { PrismScorer, referenceNorms, type ScoreOutcome } from '../../src/scorer/index.ts';
import {
  batchTensors,
  buildSequence,
  chunkedHeadLoss,
  headChunkRows,
  packBatch,
  perExampleLoss,
} from '../../src/sequence/index.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';
import { sampleTrajectories } from './scorer-fixtures.ts';

const quiet = pino({ level: 'silent' });

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-6));
  return m;
}

function norms(o: ScoreOutcome): number[] {
  if (!o.ok) throw new Error(`expected a score, got ${o.error.code}: ${o.error.message}`);
  return o.scores.norms ?? [];
}

describe.each(['cpu', 'wasm'])('memory-lean paths on the %s backend', (backend) => {
  let model: LlamaModel;
  beforeAll(async () => {
    await tf.setBackend(backend);
    model = initModel({ preset: 'tiny', arch: 'qwen2', seed: 5 });
  });
  afterAll(() => model.dispose());

  it('chunked LM head: same per-example loss and hidden-state gradient as full logits', () => {
    const B = 3;
    const T = 7;
    const d = 8;
    const V = 11;
    const hidden = tf.randomNormal([B, T, d], 0, 1, 'float32', 1) as tf.Tensor3D;
    const head = tf.randomNormal([V, d], 0, 1, 'float32', 2) as tf.Tensor2D;
    const targetIds = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % V);
    // Row 2 has no targets at all; the others have a few.
    const targetMask = Float32Array.from({ length: B * T }, (_, i) => (i < 2 * T && i % 3 !== 0 ? 1 : 0));
    const tIds = tf.tensor2d(targetIds, [B, T], 'int32');
    const tMask = tf.tensor2d(targetMask, [B, T]);
    const dy = tf.tensor1d([0.5, -2, 1]);
    const full = tf.valueAndGrad((h: tf.Tensor) =>
      tf.sum(
        tf.mul(
          perExampleLoss(
            tf.matMul(h.reshape([B * T, d]), head, false, true).reshape([B, T, V]) as tf.Tensor3D,
            tIds,
            tMask,
          ),
          dy,
        ),
      ),
    );
    // Two target rows per chunk: several chunks.
    const bytes = 2 * 4 * V;
    expect(headChunkRows(V, bytes)).toBe(2);
    const lossChunked = chunkedHeadLoss(hidden, head, { B, T, targetIds, targetMask }, bytes);
    const lossFull = perExampleLoss(
      tf.matMul(hidden.reshape([B * T, d]), head, false, true).reshape([B, T, V]) as tf.Tensor3D,
      tIds,
      tMask,
    );
    expect(maxRel(lossChunked.dataSync(), lossFull.dataSync())).toBeLessThan(1e-5);
    expect(lossChunked.dataSync()[2]).toBe(0);
    const chunked = tf.valueAndGrad((h: tf.Tensor) =>
      tf.sum(tf.mul(chunkedHeadLoss(h as tf.Tensor3D, head, { B, T, targetIds, targetMask }, bytes), dy)),
    );
    const a = full(hidden);
    const b = chunked(hidden);
    expect(Math.abs(a.value.dataSync()[0] - b.value.dataSync()[0])).toBeLessThan(1e-4);
    const ga = a.grad.dataSync();
    const gb = b.grad.dataSync();
    let maxAbs = 0;
    for (let i = 0; i < ga.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ga[i] - gb[i]));
    expect(maxAbs).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(ga).map(Math.abs))).toBeGreaterThan(1e-3);
    tf.dispose([hidden, head, tIds, tMask, dy, lossChunked, lossFull, a.value, a.grad, b.value, b.grad]);
  });

  it('the chunked head frees each chunk before the next: its peak is a few chunks, not all of them', async () => {
    const [B, T, d, V] = [2, 64, 8, 1000];
    const hidden = tf.randomNormal([B, T, d], 0, 1, 'float32', 5) as tf.Tensor3D;
    const head = tf.randomNormal([V, d], 0, 1, 'float32', 6) as tf.Tensor2D;
    const targetIds = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % V);
    const targetMask = new Float32Array(B * T).fill(1);
    const bytes = 4 * 4 * V; // 4 target rows per chunk: 32 chunks
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => {
      tf.dispose(chunkedHeadLoss(hidden, head, { B, T, targetIds, targetMask }, bytes));
    });
    // Every chunk's logits together would be B·T·V floats; one chunk's tensors are a few times `bytes`.
    expect(info.peakBytes - before).toBeLessThan(8 * bytes);
    tf.dispose([hidden, head]);
  });

  it('blocked attention with its own gradient equals autodiff through softmax', () => {
    const N = 2;
    const rep = 2;
    const T = 5;
    const hd = 4;
    const q = tf.randomNormal([N, rep * T, hd], 0, 1, 'float32', 3) as tf.Tensor3D;
    const k = tf.randomNormal([N, T, hd], 0, 1, 'float32', 4) as tf.Tensor3D;
    const v = tf.randomNormal([N, T, hd], 0, 1, 'float32', 5) as tf.Tensor3D;
    const w = tf.randomNormal([N, rep * T, hd], 0, 1, 'float32', 6);
    const m = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
    const mask = tf.tensor2d(m, [T, T]);
    // Blocks of two query positions: three blocks, the last one short.
    const twoRows = 4 * N * rep * T * 2;
    const plain = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor): tf.Tensor => {
      const s = tf.mul(tf.matMul(qq as tf.Tensor3D, kk as tf.Tensor3D, false, true), 1 / Math.sqrt(hd));
      const p = tf.softmax(tf.add(tf.reshape(s, [N, rep, T, T]), mask), -1);
      return tf.matMul(tf.reshape(p, [N, rep * T, T]) as tf.Tensor3D, vv as tf.Tensor3D);
    };
    const objective = (f: (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), w)));
    const ours = objective((a, b, c) =>
      attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, mask, { blockBytes: twoRows }),
    )([q, k, v]);
    const ref = objective(plain)([q, k, v]);
    expect(
      maxRel(attention(q, k, v, mask, { blockBytes: twoRows }).dataSync(), plain(q, k, v).dataSync()),
    ).toBeLessThan(1e-5);
    // Relative to each gradient's scale: exact zeros (the first query row's dq) come out as ±1e-8 when
    // D = rowsum(dO ⊙ O) is formed from the output rather than from the probabilities.
    ours.forEach((g, i) => {
      const a = g.dataSync();
      const b = ref[i].dataSync();
      const scale = Math.max(...Array.from(b, Math.abs));
      let worst = 0;
      for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]));
      expect(scale).toBeGreaterThan(1e-2);
      expect(worst / scale).toBeLessThan(1e-5);
    });
    tf.dispose([q, k, v, w, mask, ...ours, ...ref]);
  });
});

// The pure-JS cpu backend takes minutes for whole scorer passes; the scorer paths run on wasm.
describe('memory-lean scorer paths (wasm)', () => {
  const backend = 'wasm';
  let model: LlamaModel;
  beforeAll(async () => {
    await tf.setBackend(backend);
    model = initModel({ preset: 'tiny', arch: 'qwen2', seed: 5 });
  });
  afterAll(() => model.dispose());

  it('chunked head and lean attention: both paths match the paper loop within 1e-4', async () => {
    const trajs = sampleTrajectories(5);
    const scorer = (path: 'batched' | 'per-trajectory', headChunkBytes: number): PrismScorer =>
      new PrismScorer({
        model,
        tokenizer: new ByteTokenizer(),
        probeModelId: 'm',
        probeModelVersion: 'v',
        backend,
        maxSeqLen: 256,
        batchSize: 5,
        emitNorms: true,
        path,
        headChunkBytes,
        ownsModel: false,
        logger: quiet,
      });
    // 3 target rows per chunk: many chunks per batch.
    const tinyChunk = 3 * 4 * model.config.vocab_size;
    const before = tf.memory().numTensors;
    const batched = await scorer('batched', tinyChunk).scoreBatch(trajs);
    const perTraj = await scorer('per-trajectory', tinyChunk).scoreBatch(trajs);
    const logits = await scorer('batched', 0).scoreBatch(trajs);
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, t] of trajs.entries()) {
      const seq = buildSequence(t.turns, {
        tokenizer: new ByteTokenizer(),
        vocabSize: model.config.vocab_size,
        maxSeqLen: 256,
      });
      const packed = packBatch([seq], 256);
      const bt = batchTensors(packed);
      const ref = await referenceNorms(model, bt.inputIds, (l) =>
        perExampleLoss(l, bt.targetIds, bt.targetMask),
      );
      tf.dispose([bt.inputIds, bt.targetIds, bt.targetMask]);
      expect(maxRel(norms(batched[i]), ref.norms[0])).toBeLessThan(1e-4);
      expect(maxRel(norms(perTraj[i]), ref.norms[0])).toBeLessThan(1e-4);
      expect(maxRel(norms(logits[i]), ref.norms[0])).toBeLessThan(1e-4);
      const o = batched[i];
      if (o.ok) expect(Math.abs(o.scores.loss - ref.losses[0])).toBeLessThan(1e-4);
    }
  });
});
