import type { KafkaSecurityConfig } from '../kafka/security/resolve.ts';

/**
 * One quick, quiet connection to the brokers before a command starts its real clients, so that
 * `produce`, `consume`, `train` and `run` all fail the same way within seconds when no broker
 * answers: `prism: no Kafka broker reachable at … [BROKER_UNREACHABLE]`, exit 1, and no flood of
 * kafkajs retry lines (their long-lived clients retry for about half a minute with logs on).
 * TLS/SASL failures are classified by withAdmin (KAFKA_AUTH_FAILED / KAFKA_TLS_FAILED, exit 2).
 */
export async function ensureBrokerReachable(
  brokers: string[],
  what: string,
  security?: KafkaSecurityConfig,
): Promise<void> {
  const { withAdmin } = await import('../kafka/admin/connect.ts');
  await withAdmin(brokers, what, async () => undefined, security === undefined ? {} : { security });
}
