import * as tf from '@tensorflow/tfjs';

/** Global L2 norm over every gradient, as one flat vector (torch.nn.utils.clip_grad_norm_). */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  const sq = tf.tidy(() => tf.addN([...grads.values()].map((g) => g.square().sum())));
  const value = sq.dataSync()[0];
  sq.dispose();
  return Math.sqrt(value);
}

/**
 * Scales all gradients by min(1, maxNorm / (norm + 1e-6)). Returns new tensors (the caller
 * disposes both maps) and the norm before clipping. maxNorm ≤ 0 disables clipping.
 */
export function clipByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: number; clipped: boolean } {
  const norm = globalNorm(grads);
  const clipped = maxNorm > 0 && norm > maxNorm;
  const scale = clipped ? maxNorm / (norm + 1e-6) : 1;
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) out.set(k, scale === 1 ? tf.clone(g) : tf.tidy(() => g.mul(scale)));
  return { grads: out, norm, clipped };
}
