import { PrismError } from '../../errors.ts';

/**
 * Failures of the torch scorer service (scorer.kind torch). Infrastructure, not records: scoreBatch
 * throws them (the micro-batch's transaction never opens, nothing is routed), except the per-record
 * codes the service returns (TOKEN_OUT_OF_VOCAB, NO_TARGET_TOKENS, SCORER_OOM, …), which become outcomes.
 * - SERVICE_UNAVAILABLE: no service to talk to (not started, died, reconnecting) beyond the patience.
 * - SERVICE_DIED: the connection dropped while a request was in flight.
 * - SERVICE_START_FAILED / SERVICE_START_TIMEOUT: a spawned service exited or never printed its ready line.
 * - PROTOCOL_VERSION_MISMATCH / PROTOCOL_ERROR: the service speaks another protocol version, or sent garbage.
 * - SERVICE_ERROR: the service answered with an ERROR frame (its code is in the message).
 * - RELOAD_FAILED: the service refused a probe reload (sha mismatch, load failure); the old model stays.
 */
export type TorchScorerErrorCode =
  | 'SERVICE_UNAVAILABLE'
  | 'SERVICE_DIED'
  | 'SERVICE_START_FAILED'
  | 'SERVICE_START_TIMEOUT'
  | 'PROTOCOL_VERSION_MISMATCH'
  | 'PROTOCOL_ERROR'
  | 'SERVICE_ERROR'
  | 'RELOAD_FAILED';

export class TorchScorerError extends PrismError {
  declare readonly code: TorchScorerErrorCode;

  constructor(code: TorchScorerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
