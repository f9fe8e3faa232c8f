import { PrismError } from '../errors.ts';

/**
 * Per-trajectory scoring failures that are not the record's shape (those are SequenceErrors:
 * NO_TARGET_TOKENS, TOKEN_OUT_OF_VOCAB, TOKENIZER_UNAVAILABLE).
 * - NON_FINITE_GRADIENT: the loss or a gradient norm is NaN/Inf (diverged or broken probe model).
 * - SCORING_FAILED: the backend threw while scoring this one trajectory.
 * - BACKEND_FAILED: not about a record: the backend itself died (a wasm abort such as "memory access
 *   out of bounds" leaves the module unusable). scoreBatch throws it and every later call fails, so
 *   callers stop instead of dead-lettering every following record.
 */
export type ScorerErrorCode = 'NON_FINITE_GRADIENT' | 'SCORING_FAILED' | 'BACKEND_FAILED';

/** Errors after which the tfjs backend cannot be trusted any more. */
export function isFatalBackendError(err: unknown): boolean {
  // WebAssembly.RuntimeError, looked up at run time: the Node-only lib set has no WebAssembly types.
  const wasm = (globalThis as { WebAssembly?: { RuntimeError: new () => Error } }).WebAssembly;
  if (wasm !== undefined && err instanceof wasm.RuntimeError) return true;
  const msg = err instanceof Error ? err.message : String(err);
  return /memory access out of bounds|table index is out of bounds|Aborted\(|unreachable executed/.test(msg);
}

export class ScorerError extends PrismError {
  declare readonly code: ScorerErrorCode;

  constructor(code: ScorerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
