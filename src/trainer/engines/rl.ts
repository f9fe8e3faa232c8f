import * as tf from '@tensorflow/tfjs';
import type { BuiltSequence } from '../../sequence/index.ts';
import { batchTensors, packBatch } from '../../sequence/index.ts';
import { rlLoss, type RlLossOptions } from '../rl-loss.ts';
import type { InputRecord, MicroBatchResult, StepEngine, TrainItem } from '../types.ts';
import { alignBehaviourLogprobs } from './behaviour.ts';
import { buildFor, namedGrads, tokenLogProbs, type SequenceSettings, type TrainableModel } from './common.ts';

export interface RlPrepared {
  seq: BuiltSequence;
  behaviour: { logp: Float32Array; has: Uint8Array } | null;
}

/**
 * RL: policy gradient with group-relative advantages (set by the loop's group window), PPO-clip
 * where behaviour logprobs exist, optional k3 KL to a frozen reference model. Same sequence rule
 * and target mask as SFT and the scorer.
 */
export class RlEngine implements StepEngine<RlPrepared> {
  constructor(
    private readonly model: TrainableModel,
    private readonly seq: SequenceSettings,
    private readonly loss: RlLossOptions,
    /** Frozen reference for the KL penalty; only used when loss.klCoef > 0. */
    private readonly reference: TrainableModel | null = null,
  ) {}

  prepare(record: InputRecord) {
    const r = buildFor(record, this.seq);
    if (!r.ok) return r;
    const behaviour = alignBehaviourLogprobs(record.value.trajectory.turns, r.seq.ids.length);
    return { ok: true, prepared: { seq: r.seq, behaviour } } as const;
  }

  computeGrads(items: readonly TrainItem<RlPrepared>[]): MicroBatchResult {
    const packed = packBatch(
      items.map((i) => i.prepared.seq),
      this.seq.maxSeqLen,
    );
    const { B, T } = packed;
    const t = batchTensors(packed);
    // Input position t predicts token t+1: its behaviour logprob is that of token t+1.
    const old = new Float32Array(B * T);
    const oldMask = new Float32Array(B * T);
    let anyOld = false;
    items.forEach((it, b) => {
      const bh = it.prepared.behaviour;
      if (!bh) return;
      for (let p = 0; p < packed.lengths[b]; p++) {
        if (bh.has[p + 1] && packed.targetMask[b * T + p] === 1) {
          old[b * T + p] = bh.logp[p + 1];
          oldMask[b * T + p] = 1;
          anyOld = true;
        }
      }
    });
    const adv = tf.tensor1d(items.map((i) => i.advantage ?? 0));
    const oldT = anyOld ? tf.tensor2d(old, [B, T]) : undefined;
    const oldMaskT = anyOld ? tf.tensor2d(oldMask, [B, T]) : undefined;
    const useRef = this.reference !== null && this.loss.klCoef > 0;
    const refT = useRef
      ? tf.tidy(() =>
          tokenLogProbs((this.reference as TrainableModel).forward(t.inputIds).logits, t.targetIds),
        )
      : undefined;
    let stats: tf.Tensor1D | undefined;
    let weight = 0;
    let tokens = 0;
    try {
      const { value, grads } = namedGrads(this.model.namedWeights(), () => {
        const { logits } = this.model.forward(t.inputIds);
        const logp = tokenLogProbs(logits, t.targetIds);
        const r = rlLoss(
          { logp, mask: t.targetMask, advantages: adv, oldLogp: oldT, oldMask: oldMaskT, refLogp: refT },
          this.loss,
        );
        stats = tf.keep(r.stats);
        weight = r.weight;
        tokens = r.tokens;
        return r.sum;
      });
      const s = stats ? Array.from(stats.dataSync()) : [0, 0, 0];
      return { grads, lossSum: value, weight, tokens, stats: { clipped: s[0], ratio: s[1], kl: s[2] } };
    } finally {
      stats?.dispose();
      for (const x of [t.inputIds, t.targetIds, t.targetMask, adv, oldT, oldMaskT, refT]) x?.dispose();
    }
  }
}
