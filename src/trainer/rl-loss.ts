import * as tf from '@tensorflow/tfjs';

/**
 * Token-level policy-gradient loss (GRPO / PPO-clip), on per-token log-probabilities.
 *
 * For token t of sequence i with advantage A_i and mask m (assistant tokens only):
 *   without behaviour logprobs: ℓ = −A_i · log π(t)                         (REINFORCE; equals
 *     the clipped objective at ratio 1, since old = sg(π) gives the same gradient)
 *   with behaviour logprobs:    r = exp(log π − log μ), ℓ = −min(r·A, clip(r, 1−ε_low, 1+ε_high)·A)
 *   optional KL to a frozen reference (k3, as in GRPO): β·(exp(ref − π) − (ref − π) − 1)
 * The returned `sum` is a sum over tokens (aggregation 'token-mean', weight = token count) or over
 * sequences of per-sequence token means ('seq-mean', weight = sequences); the trainer divides the
 * accumulated gradient by the step's total weight.
 */

export type LossAggregation = 'token-mean' | 'seq-mean';

export interface RlLossInputs {
  /** log π(target_t) under the current policy, [B,T]. */
  logp: tf.Tensor2D;
  /** 1 on trained (assistant) target positions, [B,T]. */
  mask: tf.Tensor2D;
  /** One advantage per sequence, [B]. */
  advantages: tf.Tensor1D;
  /** Behaviour log-probabilities aligned with logp, [B,T]; ignored where oldMask is 0. */
  oldLogp?: tf.Tensor2D;
  /** 1 where a behaviour log-probability exists, [B,T]. */
  oldMask?: tf.Tensor2D;
  /** Reference-model log-probabilities, [B,T] (constant). */
  refLogp?: tf.Tensor2D;
}

export interface RlLossOptions {
  clipLow: number;
  clipHigh: number;
  klCoef: number;
  aggregation: LossAggregation;
}

export interface RlLossResult {
  sum: tf.Scalar;
  /** Divisor for this micro-batch's contribution: tokens or sequences. */
  weight: number;
  /** Diagnostics summed over masked tokens (divide by tokens): clipped tokens, ratio, KL. */
  stats: tf.Tensor1D;
  tokens: number;
}

export function rlLoss(x: RlLossInputs, o: RlLossOptions): RlLossResult {
  const [tokens, seqTokens] = tf.tidy(() => [x.mask.sum().dataSync()[0], x.mask.sum(1).dataSync()] as const);
  const sequences = Array.from(seqTokens).filter((n) => n > 0).length;
  return tf.tidy(() => {
    const adv = x.advantages.expandDims(1) as tf.Tensor2D; // [B,1]
    let perToken = tf.neg(tf.mul(adv, x.logp)) as tf.Tensor2D;
    let clippedCount: tf.Tensor = tf.scalar(0);
    let ratioSum: tf.Tensor = x.mask.sum();
    if (x.oldLogp !== undefined && x.oldMask !== undefined) {
      const ratio = tf.exp(tf.sub(x.logp, x.oldLogp));
      const clipped = tf.clipByValue(ratio, 1 - o.clipLow, 1 + o.clipHigh);
      const surr = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv))) as tf.Tensor2D;
      perToken = tf.where(tf.greater(x.oldMask, 0), surr, perToken);
      const live = tf.mul(x.mask, x.oldMask);
      // A token is "clipped" when the clipped term is the active one (its gradient is zero).
      const active = tf.cast(tf.less(tf.mul(clipped, adv), tf.mul(ratio, adv)), 'float32');
      clippedCount = tf.sum(tf.mul(active, live));
      ratioSum = tf.add(tf.sum(tf.mul(ratio, live)), tf.sum(tf.sub(x.mask, live)));
    }
    let klSum: tf.Tensor = tf.scalar(0);
    if (x.refLogp !== undefined) {
      const d = tf.sub(x.refLogp, x.logp);
      const kl = tf.sub(tf.sub(tf.exp(d), d), 1) as tf.Tensor2D;
      klSum = tf.sum(tf.mul(kl, x.mask));
      if (o.klCoef !== 0) perToken = tf.add(perToken, tf.mul(kl, o.klCoef));
    }
    const masked = tf.mul(perToken, x.mask);
    let sum: tf.Scalar;
    if (o.aggregation === 'token-mean') {
      sum = tf.sum(masked);
    } else {
      const perSeq = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(x.mask, 1), 1));
      sum = tf.sum(perSeq);
    }
    const stats = tf.stack([clippedCount, ratioSum, klSum]) as tf.Tensor1D;
    return { sum, weight: o.aggregation === 'token-mean' ? tokens : sequences, stats, tokens };
  });
}
