import type { Route } from '../schemas/types.ts';
import { EvalError } from './errors.ts';

/**
 * The q-quantile with linear interpolation (Hyndman–Fan type 7, numpy's default), the same
 * definition the arbitrator's SlidingQuantile uses, so the offline median matches `prism run`'s.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new EvalError('EVAL_EMPTY', 'quantile of no values');
  const sorted = Float64Array.from(values).sort();
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** PRISM's rule: RL strictly above the threshold, ties to SFT. */
export function splitAt(scores: readonly number[], threshold: number): Route[] {
  return scores.map((s) => (s > threshold ? 'RL' : 'SFT'));
}

/** RL = positive prediction. Rates are null when their denominator is 0. */
export interface Confusion {
  /** RL and positive. */
  tp: number;
  /** RL and negative. */
  fp: number;
  /** SFT and positive. */
  fn: number;
  /** SFT and negative. */
  tn: number;
  /** Recall of positives: tp / (tp + fn). */
  tpr: number | null;
  /** fp / (fp + tn). */
  fpr: number | null;
  /** tp / (tp + fp). */
  precision: number | null;
  accuracy: number | null;
  /** Share of records routed to RL. */
  rlShare: number | null;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

export function confusion(routes: readonly Route[], positive: readonly boolean[]): Confusion {
  if (routes.length !== positive.length) {
    throw new EvalError(
      'EVAL_LENGTH_MISMATCH',
      `confusion: ${routes.length} routes but ${positive.length} labels`,
    );
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < routes.length; i++) {
    const rl = routes[i] === 'RL';
    if (positive[i]) {
      if (rl) tp++;
      else fn++;
    } else if (rl) fp++;
    else tn++;
  }
  const n = routes.length;
  return {
    tp,
    fp,
    fn,
    tn,
    tpr: ratio(tp, tp + fn),
    fpr: ratio(fp, fp + tn),
    precision: ratio(tp, tp + fp),
    accuracy: ratio(tp + tn, n),
    rlShare: ratio(tp + fp, n),
  };
}
