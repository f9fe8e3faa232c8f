import type { Kafka } from 'kafkajs';
import type { KafkaConfig } from '../config/kafka.ts';
import { createKafka, kafkaSecurityOf } from '../kafka/client.ts';
import type { ResolvedKafkaSecurity } from '../kafka/security/resolve.ts';
import { verifyKafkaAccess } from '../kafka/security/verify.ts';
import type { Logger } from '../log.ts';

export interface KafkaConnectOptions {
  /** The `kafka` config section (brokers, timeouts, TLS/SASL). */
  readonly config: KafkaConfig;
  /** Client id of this runtime's clients (defaults to `kafka.clientId`). */
  readonly clientId?: string;
  readonly log: Logger;
}

export interface KafkaConnection {
  readonly kafka: Kafka;
  readonly security: ResolvedKafkaSecurity;
  readonly clientId: string;
}

/**
 * The Kafka connection every runtime (`prism run`, `prism train`) shares: security resolved once,
 * verified up front when enabled (a wrong password or an untrusted CA fails fast, exit 2, instead
 * of kafkajs retrying for minutes), then the one kafkajs client all of the runtime's clients use.
 */
export async function connectKafka(o: KafkaConnectOptions): Promise<KafkaConnection> {
  const c = o.config;
  const clientId = o.clientId ?? c.clientId;
  const security = kafkaSecurityOf({ security: c });
  if (security.enabled) {
    await verifyKafkaAccess({
      brokers: c.brokers,
      clientId,
      security: c,
      timeoutMs: c.authTimeoutMs,
    });
    o.log.info({ kafkaSecurity: security.describe }, 'kafka connection secured');
  }
  const kafka = createKafka({
    brokers: c.brokers,
    clientId,
    connectionTimeoutMs: c.connectionTimeoutMs,
    requestTimeoutMs: c.requestTimeoutMs,
    logger: o.log.child({ component: 'kafkajs' }),
    security,
  });
  return { kafka, security, clientId };
}
