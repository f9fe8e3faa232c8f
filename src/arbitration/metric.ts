import type { Metric, PrismScores } from '../schemas/types.ts';

export const METRICS = ['gini', 'kurtosis', 'cv', 'l2'] as const satisfies readonly Metric[];

/** The statistic the arbitrator routes on. */
export function metricValue(scores: PrismScores, metric: Metric): number {
  return scores[metric];
}
