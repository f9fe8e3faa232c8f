import * as tf from '@tensorflow/tfjs';

/**
 * Sums gradients of several micro-batches. Losses are summed (not averaged) per micro-batch, and
 * `take(1 / total)` divides by the step's total weight (tokens or sequences), so accumulation
 * gives exactly the gradient of one big batch.
 */
export class GradAccumulator {
  private sums = new Map<string, tf.Tensor>();
  private weight = 0;
  private micro = 0;

  /** Adds gradients (borrowed: the caller still owns and disposes them) with their loss weight. */
  add(grads: ReadonlyMap<string, tf.Tensor>, weight: number): void {
    for (const [k, g] of grads) {
      const prev = this.sums.get(k);
      if (prev === undefined) {
        this.sums.set(k, tf.clone(g));
      } else {
        this.sums.set(k, tf.add(prev, g));
        prev.dispose();
      }
    }
    this.weight += weight;
    this.micro += 1;
  }

  get microBatches(): number {
    return this.micro;
  }

  get totalWeight(): number {
    return this.weight;
  }

  /** Returns sum·scale for every parameter (caller owns the result) and resets. */
  take(scale: number): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [k, s] of this.sums) {
      out.set(
        k,
        tf.tidy(() => s.mul(scale)),
      );
      s.dispose();
    }
    this.reset();
    return out;
  }

  reset(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums = new Map();
    this.weight = 0;
    this.micro = 0;
  }
}
