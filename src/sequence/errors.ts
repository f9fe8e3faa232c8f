import { PrismError } from '../errors.ts';
import type { RecordReasonCode } from '../schemas/errors.ts';

/** Per-trajectory reasons a record cannot be turned into a training/scoring sequence (dead-letter codes). */
export type SequenceErrorCode =
  | 'NO_TARGET_TOKENS'
  | 'TOKEN_OUT_OF_VOCAB'
  | 'TOKENIZER_UNAVAILABLE'
  // The same code (and meaning) validate.ts uses for token_ids: over input.limits.maxTokens.
  | Extract<RecordReasonCode, 'TOO_MANY_TOKENS'>;

export class SequenceError extends PrismError {
  declare readonly code: SequenceErrorCode;

  constructor(code: SequenceErrorCode, message: string) {
    super(code, message);
  }
}
