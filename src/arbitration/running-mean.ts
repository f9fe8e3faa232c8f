import { ArbitrationError } from './errors.ts';

/**
 * The element-wise running mean of a stream of equal-length vectors (the 7L norm vectors of one probe
 * model version), for the `gini_relative` metric. Incremental (mean += (x − mean)/n, float64), O(d)
 * per vector, O(d) memory however long the stream runs. Cumulative: every vector since the first
 * counts the same, so the reference profile settles instead of chasing the latest batch.
 */
export class RunningMean {
  private mean: Float64Array | null = null;
  private n = 0;

  /** Vectors seen so far. */
  get count(): number {
    return this.n;
  }

  /** Adds one vector; its length must match the first one's. */
  push(x: ArrayLike<number>): void {
    if (this.mean === null) {
      if (x.length === 0) throw new ArbitrationError('NORMS_MISMATCH', 'running mean: empty norm vector');
      this.mean = new Float64Array(x.length);
    }
    const mean = this.mean;
    if (x.length !== mean.length) {
      throw new ArbitrationError(
        'NORMS_MISMATCH',
        `running mean: a norm vector of ${x.length} entries after ${this.n} of ${mean.length}; ` +
          'one probe model version always yields the same number of projection norms',
      );
    }
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i]))
        throw new ArbitrationError('SCORE_NOT_FINITE', `running mean: entry ${i} is ${x[i]}`);
    }
    this.n++;
    for (let i = 0; i < x.length; i++) mean[i] += (x[i] - mean[i]) / this.n;
  }

  /** The current mean (a copy); empty before the first vector. */
  value(): Float64Array {
    return this.mean === null ? new Float64Array(0) : Float64Array.from(this.mean);
  }
}
