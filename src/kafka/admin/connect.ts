import type { Admin } from 'kafkajs';
import { createKafka, kafkaSecurityOf, type CreateKafkaOptions } from '../client.ts';
import { toBrokerError } from '../errors.ts';
import { classifySecurityFailure } from '../security/classify.ts';

/**
 * Run `fn` with a connected admin client and always disconnect. Few retries: a CLI should say
 * "unreachable" within seconds, not after kafkajs' default half minute. kafkajs' own logs are off
 * unless PRISM_LOG_LEVEL=debug, because every failure is reported once as a BrokerError.
 */
export async function withAdmin<T>(
  brokers: string[],
  what: string,
  fn: (admin: Admin) => Promise<T>,
  opts: Partial<CreateKafkaOptions> = {},
): Promise<T> {
  const security = kafkaSecurityOf(opts);
  const verbose = process.env.PRISM_LOG_LEVEL === 'debug' || process.env.PRISM_LOG_LEVEL === 'trace';
  const kafka = createKafka({
    clientId: 'prism-cli',
    retry: { retries: 2, initialRetryTime: 250, maxRetryTime: 2000 },
    logLevel: verbose ? 'debug' : 'nothing',
    ...opts,
    security,
    brokers,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await fn(admin);
  } catch (err) {
    // A wrong password or an untrusted CA: exit 2 with what to fix, not "unreachable".
    throw (
      classifySecurityFailure(err, {
        brokers,
        describe: security.describe,
        caFile: security.caFile,
        username: security.username,
        secrets: security.secrets.map((x) => x.reveal()),
      }) ?? toBrokerError(brokers, what, err)
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
