import { EvalError } from './errors.ts';

/** AUC of a score for separating positives from negatives, with the Mann–Whitney U behind it. */
export interface AucResult {
  /** P(score of a random positive > score of a random negative) + ½·P(tie). */
  auc: number;
  /** Mann–Whitney U of the positives (= auc · nPos · nNeg). */
  u: number;
  nPos: number;
  nNeg: number;
  /** Hanley & McNeil (1982) standard error of the AUC; rough for small or tied samples. */
  se: number;
}

/**
 * 1-based ranks with ties sharing their average rank (the "midrank" of Mann–Whitney with ties).
 * Why hand-written: it is ~15 lines, and the npm rank/AUC packages are unmaintained or pull in a
 * whole stats library for one function.
 */
export function midranks(values: readonly number[]): Float64Array {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average of ranks i+1 .. j+1
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

/**
 * AUC via the Mann–Whitney U statistic: U = R₊ − n₊(n₊+1)/2 with R₊ the sum of the positives'
 * midranks, AUC = U / (n₊·n₋). Exact for ties (a tie counts ½), O(n log n).
 */
export function mannWhitneyAuc(scores: readonly number[], positive: readonly boolean[]): AucResult {
  if (scores.length !== positive.length) {
    throw new EvalError('EVAL_LENGTH_MISMATCH', `auc: ${scores.length} scores but ${positive.length} labels`);
  }
  const bad = scores.findIndex((s) => !Number.isFinite(s));
  if (bad >= 0)
    throw new EvalError(
      'EVAL_NON_FINITE',
      `auc: score ${bad} is ${scores[bad]}; drop non-finite scores first`,
    );
  const nPos = positive.filter(Boolean).length;
  const nNeg = positive.length - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new EvalError(
      'EVAL_ONE_CLASS',
      `auc needs both classes; got ${nPos} positive and ${nNeg} negative records`,
    );
  }
  const ranks = midranks(scores);
  let rankSum = 0;
  for (let i = 0; i < ranks.length; i++) if (positive[i]) rankSum += ranks[i];
  const u = rankSum - (nPos * (nPos + 1)) / 2;
  const auc = u / (nPos * nNeg);
  return { auc, u, nPos, nNeg, se: hanleyMcNeilSe(auc, nPos, nNeg) };
}

function hanleyMcNeilSe(a: number, nPos: number, nNeg: number): number {
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  const v = (a * (1 - a) + (nPos - 1) * (q1 - a * a) + (nNeg - 1) * (q2 - a * a)) / (nPos * nNeg);
  return Math.sqrt(Math.max(0, v));
}
