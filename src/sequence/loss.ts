/**
 * The one loss every scorer and trainer uses: per example, the mean over its targets of
 * −log softmax(logits[p − 1])[token p]. Rows without targets get 0, never NaN.
 */
import * as tf from '@tensorflow/tfjs';
import { oneHotFloat } from '../model/linear.ts';

/**
 * log π(target) per position, [B, T]: logit[target] − logsumexp(logits). One-hot instead of gather:
 * differentiable on every backend (and oneHotFloat dodges the wasm OneHot dtype bug). The RL loss
 * needs these per token; perExampleLoss averages them.
 */
export function tokenLogProbs(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const V = logits.shape[2];
    const picked = tf.sum(tf.mul(logits, oneHotFloat(targets, V)), -1);
    return tf.sub(picked, tf.logSumExp(logits, -1)) as tf.Tensor2D;
  });
}

/** logits [B, T, V], targets int32 [B, T], mask float32 [B, T] → loss [B]. */
export function perExampleLoss(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const nll = tf.neg(tokenLogProbs(logits, targets));
    const total = tf.sum(tf.mul(nll, mask), 1);
    return tf.div(total, tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor1D;
  });
}
