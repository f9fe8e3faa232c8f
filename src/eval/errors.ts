import { PrismError } from '../errors.ts';

/**
 * Stable reason codes of EvalError.
 * - EVAL_ONE_CLASS: AUC needs at least one positive and one negative record.
 * - EVAL_NON_FINITE: a score passed to a statistic was NaN or ±Infinity.
 * - EVAL_LENGTH_MISMATCH: scores and labels (or routes) differ in length.
 * - EVAL_EMPTY: nothing to evaluate (no scored, labelled record).
 */
export type EvalErrorCode = 'EVAL_ONE_CLASS' | 'EVAL_NON_FINITE' | 'EVAL_LENGTH_MISMATCH' | 'EVAL_EMPTY';

export class EvalError extends PrismError {
  declare readonly code: EvalErrorCode;

  constructor(code: EvalErrorCode, message: string) {
    super(code, message);
  }
}
