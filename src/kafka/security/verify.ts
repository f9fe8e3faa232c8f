import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka, kafkaSecurityOf, type CreateKafkaOptions } from '../client.ts';
import { errorMessage } from '../../errors.ts';
import type { KafkaSecurityConfig } from './resolve.ts';
import { classifySecurityFailure } from './classify.ts';
import { KafkaSecurityError, scrubSecrets } from './errors.ts';

export interface VerifyAccessOptions extends Pick<CreateKafkaOptions, 'brokers' | 'clientId' | 'logger'> {
  readonly security: KafkaSecurityConfig;
  /** Whole budget (default 10 s); TLS/SASL failures end it at once. */
  readonly timeoutMs?: number;
}

/**
 * One admin connection before the real clients start: a wrong password or an untrusted CA then
 * fails within seconds as a KafkaSecurityError (exit 2) instead of as kafkajs' retried connection
 * errors. Other failures (broker not up yet) are retried until the budget ends, then rethrown.
 */
export async function verifyKafkaAccess(o: VerifyAccessOptions): Promise<void> {
  const resolved = kafkaSecurityOf({ security: o.security });
  const ctx = {
    brokers: o.brokers,
    describe: resolved.describe,
    caFile: resolved.caFile,
    username: resolved.username,
    secrets: resolved.secrets.map((s) => s.reveal()),
  };
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  let last: unknown;
  while (Date.now() < deadline) {
    const kafka = createKafka({
      brokers: o.brokers,
      clientId: o.clientId,
      logger: o.logger,
      logLevel: 'nothing',
      security: resolved,
      connectionTimeoutMs: Math.max(1000, Math.min(5000, deadline - Date.now())),
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (err) {
      const typed = classifySecurityFailure(err, ctx);
      if (typed !== undefined) throw typed;
      last = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(500);
  }
  throw new KafkaSecurityError(
    'KAFKA_SECURITY_TIMEOUT',
    `no authenticated connection to Kafka at ${o.brokers.join(',')} (${resolved.describe}) within ${o.timeoutMs ?? 10_000} ms: ` +
      `${scrubSecrets(errorMessage(last), ctx.secrets)}; check the address, that the port is the TLS/SASL listener, and kafka.authTimeoutMs`,
  );
}
