import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../log.ts';

export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

const LEVEL_BY_NAME: Record<KafkaLogLevelName, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export function kafkaLogLevel(name: KafkaLogLevelName): logLevel {
  return LEVEL_BY_NAME[name];
}

/** kafkajs level that mirrors a pino level (pino filters again, so this only saves work). */
export function kafkaLevelForPino(pinoLevel: string): KafkaLogLevelName {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return 'debug';
    case 'info':
      return 'info';
    case 'warn':
      return 'warn';
    case 'silent':
      return 'nothing';
    default:
      return 'error'; // error, fatal
  }
}

export type PinoMethod = 'error' | 'warn' | 'info' | 'debug';

export interface PinoRecord {
  method: PinoMethod;
  fields: Record<string, unknown>;
  msg: string;
}

/** Keys pino owns (or kafkajs duplicates): dropped from the kafkajs extras. */
const RESERVED = new Set([
  'timestamp',
  'logger',
  'message',
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'name',
]);

/**
 * Retriable broker answers that kafkajs logs at ERROR ("Response GroupCoordinator(…)") although it
 * retries them itself: normal for a few seconds after a broker (re)starts, a coordinator moves or a
 * transaction is still completing. Logged at info; if they persist, the retries run out and the
 * failure surfaces once as a typed error (BROKER_UNAVAILABLE, a sink error) at error level.
 */
const TRANSIENT_RESPONSE_ERRORS = new Set([
  'The group coordinator is not available', // GROUP_COORDINATOR_NOT_AVAILABLE (15)
  "The coordinator is loading and hence can't process requests for this group", // GROUP_LOAD_IN_PROGRESS (14)
  'This is not the correct coordinator for this group', // NOT_COORDINATOR_FOR_GROUP (16)
  'There is no leader for this topic-partition as we are in the middle of a leadership election', // LEADER_NOT_AVAILABLE (5)
  'This server is not the leader for that topic-partition', // NOT_LEADER_FOR_PARTITION (6)
  'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing', // CONCURRENT_TRANSACTIONS (51)
  'There are unstable offsets that need to be cleared', // UNSTABLE_OFFSET_COMMIT (88)
]);

/**
 * kafkajs warns on every idempotent producer whose retries are bounded. prism bounds them on
 * purpose (a dead broker must surface as an error, not hang) and stays exactly-once because every
 * send of `prism run` is inside a transaction that is aborted and retried on failure, so a record
 * written by an exhausted retry is never visible to read_committed consumers (README, Failure
 * behaviour). Logged at debug.
 */
const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

const SEND_FAILED = 'Failed to send messages: ';

function methodOf(level: logLevel): PinoMethod {
  return level === logLevel.ERROR
    ? 'error'
    : level === logLevel.WARN
      ? 'warn'
      : level === logLevel.INFO
        ? 'info'
        : 'debug';
}

/** The level a kafkajs entry is logged at: its own, except for the known transients above. */
export function methodFor(entry: LogEntry): PinoMethod {
  const method = methodOf(entry.level);
  const message = String(entry.log.message);
  if (method === 'error' && message.startsWith('Response ')) {
    const error = entry.log.error;
    if (typeof error === 'string' && TRANSIENT_RESPONSE_ERRORS.has(error)) return 'info';
  }
  // The producer's own line for the same retried answer ("Failed to send messages: <error>").
  if (method === 'error' && message.startsWith(SEND_FAILED)) {
    if (TRANSIENT_RESPONSE_ERRORS.has(message.slice(SEND_FAILED.length))) return 'info';
  }
  if (method === 'warn' && message === BOUNDED_RETRIES_WARNING) return 'debug';
  return method;
}

/** One kafkajs log entry as a pino call: level method, structured fields, message. */
export function toPinoRecord(entry: LogEntry): PinoRecord {
  const fields: Record<string, unknown> = { kafkajs: entry.namespace };
  for (const [key, value] of Object.entries(entry.log)) {
    if (!RESERVED.has(key)) fields[key] = value;
  }
  return { method: methodFor(entry), fields, msg: String(entry.log.message) };
}

/** A kafkajs logCreator writing through `logger` (pino JSON on stderr). */
export function pinoLogCreator(logger: Logger): logCreator {
  return () => (entry) => {
    const { method, fields, msg } = toPinoRecord(entry);
    logger[method](fields, msg);
  };
}
