import { gini, StatsInputError, type NumericVector } from './concentration.ts';

/**
 * Two concentration variants that go beyond the PRISM paper (issue 17, item 10). Both are the Gini
 * coefficient of the norm vector after dividing it element-wise by a reference vector:
 *
 * - giniRelative(x, m) = gini(x_i / m_i), with m the running mean of the norm vectors seen so far on the
 *   stream. A plain gini mostly measures the fixed profile of the architecture (some matrices always
 *   get larger gradients than others); dividing by the typical profile makes the score measure where
 *   *this* trajectory departs from it. 0/0 (an entry that has been zero on every trajectory so far,
 *   this one included) counts as 1: no departure.
 * - giniSizeNormalised(x, numel) = gini(x_i / √numel_i): ‖G‖_F/√numel is the root-mean-square entry of a
 *   gradient matrix, so matrices of different sizes (q vs k/v under GQA, the MLP's wider matrices)
 *   compete on the per-weight scale instead of the total.
 *
 * Pure functions, float64, no state: the running mean lives in src/arbitration/running-mean.ts.
 */

function checkSameLength(x: NumericVector, d: NumericVector, name: string): void {
  if (x.length !== d.length) {
    throw new StatsInputError(
      `${name}: the norm vector has ${x.length} entries but the reference has ${d.length}; ` +
        'both must describe the same projection matrices',
    );
  }
}

/** gini of x_i / d_i; d_i must be finite and > 0 (checked), x_i finite and ≥ 0 (checked by gini). */
export function giniOfRatio(x: NumericVector, d: NumericVector, name = 'giniOfRatio'): number {
  checkSameLength(x, d, name);
  const r = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const di = d[i];
    if (!Number.isFinite(di) || di <= 0) {
      throw new StatsInputError(`${name}: reference entry ${i} is ${di}; expected a finite value > 0`);
    }
    r[i] = x[i] / di;
  }
  return gini(r);
}

/** gini(x_i / mean_i) against a running mean of the stream's norm vectors (see module doc). */
export function giniRelative(x: NumericVector, mean: NumericVector): number {
  checkSameLength(x, mean, 'giniRelative');
  const r = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const m = mean[i];
    const v = x[i];
    if (!Number.isFinite(m) || m < 0) {
      throw new StatsInputError(`giniRelative: mean entry ${i} is ${m}; expected a finite value ≥ 0`);
    }
    if (m === 0) {
      if (v !== 0) {
        throw new StatsInputError(
          `giniRelative: entry ${i} is ${v} but its running mean is 0; the mean must include this vector`,
        );
      }
      r[i] = 1;
    } else {
      r[i] = v / m;
    }
  }
  return gini(r);
}

/** gini(‖G_i‖_F / √numel_i): concentration of the root-mean-square gradient entry per matrix. */
export function giniSizeNormalised(norms: NumericVector, numel: NumericVector): number {
  checkSameLength(norms, numel, 'giniSizeNormalised');
  const scale = new Float64Array(numel.length);
  for (let i = 0; i < numel.length; i++) {
    const n = numel[i];
    if (!Number.isInteger(n) || n < 1) {
      throw new StatsInputError(`giniSizeNormalised: numel entry ${i} is ${n}; expected a positive integer`);
    }
    scale[i] = Math.sqrt(n);
  }
  return giniOfRatio(norms, scale, 'giniSizeNormalised');
}
