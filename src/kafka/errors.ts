import { BrokerError, errorMessage } from '../errors.ts';
import { someInCauseChain, type KafkaErrorLike } from './cause-chain.ts';

/** kafkajs error names that mean "no broker answered" rather than "the broker said no". */
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
]);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

/** Walks kafkajs' wrapping (originalError / cause / retry wrappers) looking for a connection failure. */
export function isConnectionFailure(err: unknown): boolean {
  return someInCauseChain(err, isConnectionError);
}

function isConnectionError(e: KafkaErrorLike): boolean {
  return (
    (typeof e.name === 'string' && CONNECTION_ERRORS.has(e.name)) ||
    (typeof e.code === 'string' && SOCKET_CODES.has(e.code))
  );
}

/** kafkajs errors that say no broker could be found to ask, although they are not connection errors:
 * `findGroupCoordinator` throws KafkaJSGroupCoordinatorNotFound (non-retriable, so the consumer
 * crashes for good) when every broker it tried was away, e.g. through a broker restart under load. */
const NO_BROKER_ERRORS = new Set(['KafkaJSGroupCoordinatorNotFound']);

/** A failure that says the brokers were away, not that they refused: worth waiting out. */
export function isBrokerAway(err: unknown): boolean {
  return someInCauseChain(
    err,
    (e) => isConnectionError(e) || (typeof e.name === 'string' && NO_BROKER_ERRORS.has(e.name)),
  );
}

export function unreachableError(brokers: readonly string[], cause: unknown): BrokerError {
  return new BrokerError(
    'BROKER_UNREACHABLE',
    `no Kafka broker reachable at ${brokers.join(',')} (${errorMessage(cause)}); ` +
      'run "npx prism kafka up" to start the local broker, or set --brokers / PRISM_KAFKA_BROKERS',
    { cause },
  );
}

/** Connection failures become BROKER_UNREACHABLE; other kafkajs errors KAFKA_ADMIN_FAILED. */
export function toBrokerError(brokers: readonly string[], what: string, err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  if (isConnectionFailure(err)) return unreachableError(brokers, err);
  return new BrokerError(
    'KAFKA_ADMIN_FAILED',
    `${what} failed on ${brokers.join(',')}: ${errorMessage(err)}`,
    {
      cause: err,
    },
  );
}
