import { PrismError } from '../errors.ts';
import { someInCauseChain } from '../kafka/cause-chain.ts';

export const SINK_ERROR_CODES = ['PRODUCER_FENCED', 'LANE_ABORTED', 'SINK_WRITE_FAILED'] as const;
export type SinkErrorCode = (typeof SINK_ERROR_CODES)[number];

/**
 * A lane's write did not commit. PRODUCER_FENCED: another owner of the partition initialised
 * the same transactional.id (we are the zombie: drop the lane, the new owner redoes the work).
 * LANE_ABORTED: the lane was aborted (rebalance/shutdown) before the commit. SINK_WRITE_FAILED:
 * retries exhausted (the process exits non-zero; a restart resumes from the last commit).
 */
export class SinkError extends PrismError {
  declare readonly code: SinkErrorCode;

  constructor(code: SinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** kafkajs reports fencing as INVALID_PRODUCER_EPOCH (47) or, from newer brokers, PRODUCER_FENCED (90). */
export function isFencingError(err: unknown): boolean {
  return someInCauseChain(
    err,
    (e) =>
      e.type === 'INVALID_PRODUCER_EPOCH' ||
      e.type === 'PRODUCER_FENCED' ||
      e.code === 90 ||
      e.code === 47 ||
      (typeof e.message === 'string' && /fenced|INVALID_PRODUCER_EPOCH|epoch is not valid/i.test(e.message)),
  );
}

/** Errors that mean our group generation is over (at-least-once offset commits). */
export function isGenerationError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return type === 'ILLEGAL_GENERATION' || type === 'REBALANCE_IN_PROGRESS' || type === 'UNKNOWN_MEMBER_ID';
}

const BROKER_GONE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
]);

/**
 * The broker (or the coordinator) is unreachable or moving: retrying later can succeed. Retried
 * without counting against delivery.maxAttempts; kafka.unavailablePatienceMs bounds the wait.
 */
export function isBrokerUnavailableError(err: unknown): boolean {
  return someInCauseChain(
    err,
    (e) => (typeof e.name === 'string' && BROKER_GONE_NAMES.has(e.name)) || e.retriable === true,
  );
}
