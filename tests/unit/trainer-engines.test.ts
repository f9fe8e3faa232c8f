import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { perExampleLoss, batchTensors, packBatch } from '../../src/sequence/index.ts';
import { RlEngine, type RlPrepared } from '../../src/trainer/engines/rl.ts';
import { SftEngine } from '../../src/trainer/engines/sft.ts';
import { alignBehaviourLogprobs } from '../../src/trainer/engines/behaviour.ts';
import { engineSequence, tokenLogProbs } from '../../src/trainer/engines/common.ts';
import { rlLoss } from '../../src/trainer/rl-loss.ts';
import { AdamW } from '../../src/trainer/optim/adamw.ts';
import type { TrainItem } from '../../src/trainer/types.ts';
import { countingTrajectory, inputRecord, scored, tinyModel, TINY_VOCAB } from './trainer-fixtures.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const seqSettings = { tokenizer: null, vocabSize: TINY_VOCAB, maxSeqLen: 32 };
const rlOpts = { clipLow: 0.2, clipHigh: 0.2, klCoef: 0, aggregation: 'token-mean' as const };

describe('SftEngine', () => {
  it('differentiates the token-summed scorer loss, so summed/tokens equals the mean perExampleLoss', () => {
    const model = tinyModel();
    const engine = new SftEngine(model, seqSettings);
    const recs = [countingTrajectory('a', 1), countingTrajectory('b', 7, {}, 3)].map((t, i) =>
      inputRecord(scored(t), i),
    );
    const items = recs.map((record) => {
      const p = engine.prepare(record);
      if (!p.ok) throw p.error;
      return { record, prepared: p.prepared };
    });
    const r = engine.computeGrads(items);
    expect(r.tokens).toBe(6 + 3);
    // Reference: the token-weighted mean of the scorer's per-example loss.
    const packed = packBatch(
      items.map((i) => i.prepared),
      32,
    );
    const t = batchTensors(packed);
    const per = perExampleLoss(model.forward(t.inputIds).logits, t.targetIds, t.targetMask).dataSync();
    expect(r.lossSum / r.weight).toBeCloseTo((per[0] * 6 + per[1] * 3) / 9, 4);
    expect(r.grads.size).toBe(model.namedWeights().size);
    for (const g of r.grads.values()) g.dispose();
  });

  it('cuts a trajectory longer than the model’s positions, where an uncapped maxSeqLen stops the step', () => {
    const model = tinyModel(); // 64 positions
    const long = inputRecord(scored(countingTrajectory('long', 1, {}, 150)), 0);
    const prepared = (engine: SftEngine) => {
      const p = engine.prepare(long);
      if (!p.ok) throw p.error;
      return [{ record: long, prepared: p.prepared }];
    };
    const seq = engineSequence(model.config, null, 200);
    expect(seq.maxSeqLen).toBe(65); // 64 positions hold 65 tokens
    const r = new SftEngine(model, seq).computeGrads(prepared(new SftEngine(model, seq)));
    expect(r.tokens).toBe(65 - 2); // the user turn's 2 tokens are not targets
    expect(Number.isFinite(r.lossSum)).toBe(true);
    for (const g of r.grads.values()) g.dispose();
    const uncapped = new SftEngine(model, { ...seq, maxSeqLen: 200 });
    expect(() => uncapped.computeGrads(prepared(uncapped))).toThrow(/max_position_embeddings/);
    // A limit the model holds is left as it is.
    expect(engineSequence(model.config, null, 32).maxSeqLen).toBe(32);
  });

  it('rejects a trajectory without assistant tokens with the sequence reason code', () => {
    const engine = new SftEngine(tinyModel(), seqSettings);
    const t = countingTrajectory('x', 1);
    t.turns = [t.turns[0]];
    const p = engine.prepare(inputRecord(scored(t), 0));
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.error.code).toBe('NO_TARGET_TOKENS');
  });
});

describe('RL loss', () => {
  it('is −A·log π without behaviour logprobs, and clips the ratio where they exist', () => {
    const logp = tf.tensor2d([[Math.log(0.5), Math.log(0.5)]]);
    const mask = tf.tensor2d([[1, 1]]);
    const plain = rlLoss({ logp, mask, advantages: tf.tensor1d([2]) }, rlOpts);
    expect(plain.sum.dataSync()[0]).toBeCloseTo(-2 * 2 * Math.log(0.5), 5);
    // ratio exp(log .5 − log .25) = 2 on token 0 (clipped at 1.2 for A>0), 1 on token 1.
    const old = tf.tensor2d([[Math.log(0.25), Math.log(0.5)]]);
    const clipped = rlLoss({ logp, mask, advantages: tf.tensor1d([1]), oldLogp: old, oldMask: mask }, rlOpts);
    expect(clipped.sum.dataSync()[0]).toBeCloseTo(-(1.2 + 1), 5);
    expect(clipped.stats.dataSync()[0]).toBe(1);
  });

  it('adds a k3 KL that is zero when the policy equals the reference', () => {
    const logp = tf.tensor2d([[-1, -2]]);
    const mask = tf.tensor2d([[1, 1]]);
    const same = rlLoss(
      { logp, mask, advantages: tf.tensor1d([0]), refLogp: logp },
      { ...rlOpts, klCoef: 1 },
    );
    expect(same.sum.dataSync()[0]).toBeCloseTo(0, 6);
    const other = rlLoss(
      { logp, mask, advantages: tf.tensor1d([0]), refLogp: tf.tensor2d([[-2, -2]]) },
      { ...rlOpts, klCoef: 1 },
    );
    expect(other.sum.dataSync()[0]).toBeCloseTo(Math.exp(-1) + 1 - 1, 5);
  });
});

describe('behaviour logprobs', () => {
  it('align per position only when every turn has token ids and lengths match', () => {
    const t = countingTrajectory('a', 1, {}, 3);
    t.turns[1].logprobs = [-0.1, -0.2, -0.3];
    const a = alignBehaviourLogprobs(t.turns, 5);
    expect(a && Array.from(a.has)).toEqual([0, 0, 1, 1, 1]);
    expect(a && a.logp[3]).toBeCloseTo(-0.2, 6);
    t.turns[0].token_ids = null;
    expect(alignBehaviourLogprobs(t.turns, 5)).toBeNull();
  });
});

describe('RlEngine', () => {
  it('raises log π of positive-advantage trajectories relative to negative ones', () => {
    const model = tinyModel(3);
    const engine = new RlEngine(model, seqSettings, rlOpts);
    const good = countingTrajectory('good', 2);
    const bad = countingTrajectory('bad', 2);
    bad.turns[1].token_ids = [30, 12, 7, 19, 25, 9];
    const items: TrainItem<RlPrepared>[] = [good, bad].map((t, i) => {
      const record = inputRecord(scored(t, 'RL'), i);
      const p = engine.prepare(record);
      if (!p.ok) throw p.error;
      return { record, prepared: p.prepared, advantage: i === 0 ? 1 : -1, reward: 1 - i };
    });
    const meanLogp = (): number[] => {
      const packed = packBatch(
        items.map((i) => i.prepared.seq),
        32,
      );
      const t = batchTensors(packed);
      const per = perExampleLoss(model.forward(t.inputIds).logits, t.targetIds, t.targetMask).dataSync();
      return Array.from(per, (l) => -l);
    };
    const before = meanLogp();
    const opt = new AdamW(model.namedWeights(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    for (let s = 0; s < 10; s++) {
      const r = engine.computeGrads(items);
      const scaled = new Map([...r.grads].map(([k, g]) => [k, g.div(r.weight)]));
      opt.step(scaled, 1e-2);
      for (const g of [...r.grads.values(), ...scaled.values()]) g.dispose();
    }
    const after = meanLogp();
    expect(after[0] - before[0]).toBeGreaterThan(0);
    expect(after[1] - before[1]).toBeLessThan(0);
    expect(after[0] - after[1]).toBeGreaterThan(before[0] - before[1]);
  });

  it('matches tokenLogProbs to −perExampleLoss on a single-target row', () => {
    const model = tinyModel();
    const ids = tf.tensor2d([[1, 5]], [1, 2], 'int32');
    const targets = tf.tensor2d([[5, 0]], [1, 2], 'int32');
    const mask = tf.tensor2d([[1, 0]]);
    const logits = model.forward(ids).logits;
    const lp = tokenLogProbs(logits, targets).dataSync()[0];
    expect(lp).toBeCloseTo(-perExampleLoss(logits, targets, mask).dataSync()[0], 5);
  });
});
