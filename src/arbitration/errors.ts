import { PrismError } from '../errors.ts';

export const ARBITRATION_REASON_CODES = [
  'SCORE_NOT_FINITE',
  /** gini_relative / gini_size need the record's norm vector; the scorer did not keep it. */
  'NORMS_MISSING',
  /** A norm vector whose length differs from the probe's projection count. */
  'NORMS_MISMATCH',
] as const;
export type ArbitrationReasonCode = (typeof ARBITRATION_REASON_CODES)[number];

/** A scored record that cannot be routed (dead-lettered, stage `arbitrate`). */
export class ArbitrationError extends PrismError {
  declare readonly code: ArbitrationReasonCode;

  constructor(code: ArbitrationReasonCode, message: string) {
    super(code, message);
  }
}
