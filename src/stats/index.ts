export { gini, kurtosis, cv, l2, concentrationStats, StatsInputError } from './concentration.ts';
export type { ConcentrationStats, NumericVector } from './concentration.ts';
