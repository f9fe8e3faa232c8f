/**
 * Small statistics for benchmark results. Percentiles use linear interpolation between closest
 * ranks (Hyndman & Fan type 7, numpy's default): p in [0, 100], p0 = min, p100 = max.
 */

/** The p-th percentile of `values` (not necessarily sorted); NaN for an empty input. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile p must be in [0, 100], got ${p}`);
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return percentileOfSorted(sorted, p);
}

/** As `percentile`, for input already sorted ascending (no copy). */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return {
    n,
    min: n === 0 ? Number.NaN : sorted[0],
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: n === 0 ? Number.NaN : sorted[n - 1],
    mean: n === 0 ? Number.NaN : sum / n,
  };
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than 2 distinct x. */
export function slope(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/**
 * Steady-state rate of events at times `t` (ms, any order): the events between the 10th and 90th
 * percentile times over that span, per second. Start-up and tail effects fall outside the window.
 * NaN for fewer than 10 events or a zero span.
 */
export function steadyRate(timesMs: ArrayLike<number>): number {
  const n = timesMs.length;
  if (n < 10) return Number.NaN;
  const sorted = Float64Array.from(timesMs).sort();
  const i10 = Math.floor(0.1 * (n - 1));
  const i90 = Math.ceil(0.9 * (n - 1));
  const span = sorted[i90] - sorted[i10];
  return span > 0 ? ((i90 - i10) * 1000) / span : Number.NaN;
}
