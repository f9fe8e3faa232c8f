import { PrismError } from '../errors.ts';

/**
 * Concentration statistics over the PRISM feature vector g (one Frobenius norm per projection matrix).
 *
 * All are computed in float64 with population moments over the n entries x_1..x_n (mean μ = Σx/n):
 *
 * - gini(x)     = Σ_j Σ_k |x_j − x_k| / (2 n² μ)
 *               = 2 Σ_{j=1..n} j·x_(j) / (n Σ x) − (n+1)/n        (x sorted ascending, 1-based j)
 *                 Range [0, 1 − 1/n]; 0 when all entries are equal, 1 − 1/n when one entry holds everything.
 *                 Defined as 0 for the all-zero vector and for n = 1.
 * - kurtosis(x) = m4 / m2²  with m_k = (1/n) Σ (x − μ)^k            (plain Pearson kurtosis, NOT excess: a
 *                 normal sample gives ≈3). ≥ 1 for any non-constant vector. Defined as 0 for a constant vector
 *                 (m2 ≤ (4nεμ)², i.e. rounding noise of the mean).
 * - cv(x)       = σ / μ  with σ = √m2 (population std).              Defined as 0 when μ = 0 and for a constant vector.
 * - l2(x)       = √Σ x²                                              (the magnitude baseline, not scale invariant).
 *
 * gini, kurtosis and cv are invariant under x → c·x (c > 0) and under permutation. Sample-vs-population
 * moments or excess-vs-plain kurtosis are increasing affine maps of each other for a fixed n, so they
 * never change the rank order (and hence the median split); they only matter for fixed thresholds.
 */

/** Input to a statistic was not a finite, non-negative vector. */
export class StatsInputError extends PrismError {
  constructor(message: string) {
    super('STATS_INVALID_INPUT', message);
  }
}

export type NumericVector = ArrayLike<number>;

function checkNonNegative(x: NumericVector, name: string): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v) || v < 0) {
      throw new StatsInputError(`${name}: entry ${i} is ${v}; expected finite values ≥ 0 (gradient norms)`);
    }
  }
}

/** Gini coefficient of non-negative values (see module doc). */
export function gini(x: NumericVector): number {
  checkNonNegative(x, 'gini');
  const n = x.length;
  if (n <= 1) return 0;
  const sorted = Float64Array.from(x).sort();
  let total = 0;
  let weighted = 0;
  for (let j = 0; j < n; j++) {
    total += sorted[j];
    weighted += (j + 1) * sorted[j];
  }
  if (total === 0) return 0;
  const g = (2 * weighted) / (n * total) - (n + 1) / n;
  // Rounding can leave tiny excursions outside the exact bounds.
  return Math.min(Math.max(g, 0), 1 - 1 / n);
}

interface Moments {
  mean: number;
  m2: number;
  m4: number;
}

function centralMoments(x: NumericVector): Moments {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    const d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
  }
  return { mean, m2: m2 / n, m4: m4 / n };
}

/** Plain (Pearson, non-excess) kurtosis m4/m2² with population moments; 0 for a constant vector. */
export function kurtosis(x: NumericVector): number {
  checkNonNegative(x, 'kurtosis');
  if (x.length === 0) return 0;
  const { mean, m2, m4 } = centralMoments(x);
  // Relative test: the mean of a constant vector carries rounding error ~n·ε·μ, which would otherwise
  // turn "constant" into an arbitrary kurtosis of rounding noise.
  const noise = 4 * x.length * Number.EPSILON * mean;
  if (m2 <= noise * noise) return 0;
  return m4 / (m2 * m2);
}

/** Coefficient of variation σ/μ (population σ); 0 for the all-zero vector. */
export function cv(x: NumericVector): number {
  checkNonNegative(x, 'cv');
  if (x.length === 0) return 0;
  const { mean, m2 } = centralMoments(x);
  if (mean === 0) return 0;
  const noise = 4 * x.length * Number.EPSILON * mean;
  if (m2 <= noise * noise) return 0;
  return Math.sqrt(m2) / mean;
}

/** Euclidean norm √Σx², scaled by max|x| so huge or tiny inputs neither overflow nor underflow. */
export function l2(x: NumericVector): number {
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (!Number.isFinite(a)) throw new StatsInputError(`l2: entry ${i} is ${x[i]}; expected a finite value`);
    if (a > max) max = a;
  }
  if (max === 0) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const r = x[i] / max;
    s += r * r;
  }
  return max * Math.sqrt(s);
}

export interface ConcentrationStats {
  gini: number;
  kurtosis: number;
  cv: number;
  l2: number;
}

/** All four statistics of one feature vector. */
export function concentrationStats(norms: NumericVector): ConcentrationStats {
  return { gini: gini(norms), kurtosis: kurtosis(norms), cv: cv(norms), l2: l2(norms) };
}
