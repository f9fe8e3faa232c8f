import { Kafka, type RetryOptions } from 'kafkajs';
import { kafkaSection } from '../config/kafka.ts';
import { log, type Logger } from '../log.ts';
import { kafkaLevelForPino, kafkaLogLevel, pinoLogCreator, type KafkaLogLevelName } from './log-bridge.ts';
import {
  resolveKafkaSecurity,
  securityFromEnv,
  type KafkaSecurityConfig,
  type ResolvedKafkaSecurity,
} from './security/resolve.ts';

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
  /**
   * TLS/SASL (`kafka.ssl`, `kafka.sasl` of the config, or already resolved). Default: the
   * PRISM_KAFKA_SSL_* / PRISM_KAFKA_SASL_* environment, so every client gets the same security.
   */
  security?: KafkaSecurityConfig | ResolvedKafkaSecurity;
}

/**
 * Exponential backoff from 300 ms, capped at 10 s per wait, 8 retries (about half a minute in
 * total): rides out a broker restart or a coordinator move without hanging forever.
 */
export const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 };

function isResolved(s: KafkaSecurityConfig | ResolvedKafkaSecurity): s is ResolvedKafkaSecurity {
  return 'describe' in s;
}

/** The security a client built with `opts` uses (files read now; errors are typed, exit 2). */
export function kafkaSecurityOf(opts: Pick<CreateKafkaOptions, 'security'>): ResolvedKafkaSecurity {
  const s = opts.security ?? securityFromEnv();
  return isResolved(s) ? s : resolveKafkaSecurity(s);
}

/** The one place a kafkajs client is built: every client gets the same TLS/SASL settings. */
export function createKafka(opts: CreateKafkaOptions): Kafka {
  const defaults = kafkaSection.parse({});
  const logger = opts.logger ?? log.child({ component: 'kafkajs' });
  const security = kafkaSecurityOf(opts);
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
    ...(security.ssl === undefined ? {} : { ssl: security.ssl }),
    ...(security.sasl === undefined ? {} : { sasl: security.sasl }),
  });
}
