/** The fields kafkajs errors are told apart by; all optional, all unchecked. */
export interface KafkaErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly type?: unknown;
  readonly message?: unknown;
  readonly retriable?: unknown;
}

/**
 * True when `test` holds for `err` or for an error it wraps: kafkajs's retry wrappers keep the failure in
 * `originalError`, other wrappers (ours included) in `cause`. The walk stops `maxDepth` levels down.
 */
export function someInCauseChain(err: unknown, test: (e: KafkaErrorLike) => boolean, maxDepth = 6): boolean {
  if (maxDepth < 0 || typeof err !== 'object' || err === null) return false;
  if (test(err as KafkaErrorLike)) return true;
  const e = err as { originalError?: unknown; cause?: unknown };
  return (
    someInCauseChain(e.originalError, test, maxDepth - 1) || someInCauseChain(e.cause, test, maxDepth - 1)
  );
}
