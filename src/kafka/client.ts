import { Kafka, type RetryOptions } from 'kafkajs';
import { kafkaSection } from '../config/kafka.ts';
import { log, type Logger } from '../log.ts';
import { kafkaLevelForPino, kafkaLogLevel, pinoLogCreator, type KafkaLogLevelName } from './log-bridge.ts';

export interface CreateKafkaOptions {
  brokers: string[];
  /** default 'prism-stream' */
  clientId?: string;
  /** default 3000 */
  connectionTimeoutMs?: number;
  /** default 30000 */
  requestTimeoutMs?: number;
  /** kafkajs retry; merged over DEFAULT_RETRY */
  retry?: RetryOptions;
  /** where kafkajs logs go; default the `prism` logger with component=kafkajs */
  logger?: Logger;
  /** kafkajs verbosity; default mirrors the logger's level */
  logLevel?: KafkaLogLevelName;
}

/**
 * Exponential backoff from 300 ms, capped at 10 s per wait, 8 retries (about half a minute in
 * total): rides out a broker restart or a coordinator move without hanging forever.
 */
export const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 };

/** The one place a kafkajs client is built (later: SASL/TLS from config). */
export function createKafka(opts: CreateKafkaOptions): Kafka {
  const defaults = kafkaSection.parse({});
  const logger = opts.logger ?? log.child({ component: 'kafkajs' });
  // kafkajs 2.x warns about its partitioner change on every producer; the default is what we want.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  return new Kafka({
    brokers: opts.brokers,
    clientId: opts.clientId ?? defaults.clientId,
    connectionTimeout: opts.connectionTimeoutMs ?? defaults.connectionTimeoutMs,
    requestTimeout: opts.requestTimeoutMs ?? defaults.requestTimeoutMs,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    logLevel: kafkaLogLevel(opts.logLevel ?? kafkaLevelForPino(logger.level)),
    logCreator: pinoLogCreator(logger),
  });
}
