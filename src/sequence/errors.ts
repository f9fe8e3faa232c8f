import { PrismError } from '../errors.ts';

/** Per-trajectory reasons a record cannot be turned into a training/scoring sequence (dead-letter codes). */
export type SequenceErrorCode = 'NO_TARGET_TOKENS' | 'TOKEN_OUT_OF_VOCAB' | 'TOKENIZER_UNAVAILABLE';

export class SequenceError extends PrismError {
  declare readonly code: SequenceErrorCode;

  constructor(code: SequenceErrorCode, message: string) {
    super(code, message);
  }
}
