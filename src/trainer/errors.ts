import { PrismError } from '../errors.ts';

/**
 * Reason codes raised by the trainers and the model-update follower. They are stable: DLQ headers,
 * metrics labels and tests match on them.
 */
export const TrainerReason = {
  /** An RL record has no reward (trajectory.reward is null or not finite). */
  MISSING_REWARD: 'MISSING_REWARD',
  /** A record produced no trainable token (no assistant tokens after masking/truncation). */
  NO_TRAINABLE_TOKENS: 'NO_TRAINABLE_TOKENS',
  /** A checkpoint folder is missing, unreadable or its manifest is malformed. */
  CHECKPOINT_INVALID: 'CHECKPOINT_INVALID',
  /** The sha256 over a checkpoint's weight files differs from the announced one. */
  CHECKPOINT_SHA_MISMATCH: 'CHECKPOINT_SHA_MISMATCH',
  /** A checkpoint's model cannot be loaded or does not match the running architecture. */
  CHECKPOINT_LOAD_FAILED: 'CHECKPOINT_LOAD_FAILED',
  /** Another trainer process holds the checkpoint folder of this model id. */
  CHECKPOINT_LOCKED: 'CHECKPOINT_LOCKED',
  /** A loss or gradient became NaN/Inf: the step is refused and the trainer stops. */
  NON_FINITE_LOSS: 'NON_FINITE_LOSS',
  /** The SFT-then-RL start asked for an SFT checkpoint that does not exist. */
  NO_SFT_CHECKPOINT: 'NO_SFT_CHECKPOINT',
} as const;

export type TrainerReasonCode = (typeof TrainerReason)[keyof typeof TrainerReason];

export class TrainerError extends PrismError {
  constructor(code: TrainerReasonCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(code, message, options);
  }
}

/** A checkpoint that fails verification or loading; the caller keeps whatever it was serving. */
export class CheckpointError extends TrainerError {}
