export { mannWhitneyAuc, midranks, type AucResult } from './auc.ts';
export { confusion, quantile, splitAt, type Confusion } from './split.ts';
export { DEFAULT_LABEL, describeLabel, labelOf, type LabelSpec } from './labels.ts';
export {
  EVAL_METRICS,
  evaluateRouting,
  type EvalRecord,
  type FamilyShare,
  type Router,
  type RouterEval,
  type RoutingEvaluation,
} from './routing.ts';
export { formatFamilyTable, formatRoutingTable } from './format.ts';
export type { EvalRoutingReport } from './report.ts';
export { EvalError, type EvalErrorCode } from './errors.ts';
