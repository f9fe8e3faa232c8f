import { errorMessage } from '../../errors.ts';
import { KafkaSecurityError, scrubSecrets } from './errors.ts';

/** Node/OpenSSL codes meaning "the broker's certificate was not accepted". */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

function* chain(err: unknown): Generator<{ name?: unknown; code?: unknown; message?: unknown }> {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth += 1) {
    const x = e as {
      name?: unknown;
      code?: unknown;
      message?: unknown;
      originalError?: unknown;
      cause?: unknown;
    };
    yield x;
    e = x.originalError ?? x.cause;
  }
}

export interface SecurityContext {
  readonly brokers: readonly string[];
  readonly describe: string;
  readonly caFile?: string;
  readonly username?: string;
  readonly secrets: readonly string[];
}

/**
 * A kafkajs failure that is a TLS or SASL problem, as a KafkaSecurityError (exit 2, not retried);
 * undefined for anything else. Messages are scrubbed of secret values.
 */
export function classifySecurityFailure(err: unknown, ctx: SecurityContext): KafkaSecurityError | undefined {
  const where = ctx.brokers.join(',');
  for (const e of chain(err)) {
    const name = typeof e.name === 'string' ? e.name : '';
    const code = typeof e.code === 'string' ? e.code : '';
    const msg = scrubSecrets(errorMessage(e), ctx.secrets);
    if (name === 'KafkaJSSASLAuthenticationError' || /SASL .*authentication failed/i.test(msg)) {
      return new KafkaSecurityError(
        'KAFKA_AUTH_FAILED',
        `Kafka at ${where} rejected SASL authentication${ctx.username === undefined ? '' : ` of user "${ctx.username}"`} (${ctx.describe}): ${msg}; ` +
          'check kafka.sasl.mechanism, kafka.sasl.username and the password (kafka.sasl.passwordFile / PRISM_KAFKA_SASL_PASSWORD_FILE)',
        { cause: new Error(msg) },
      );
    }
    if (TLS_CODES.has(code) || /certificate|self[- ]signed/i.test(msg)) {
      return new KafkaSecurityError(
        'KAFKA_TLS_FAILED',
        `TLS to Kafka at ${where} failed${code === '' ? '' : ` (${code})`}: ${msg}; ` +
          (ctx.caFile === undefined
            ? 'the broker certificate is not signed by a system CA: set kafka.ssl.caFile / PRISM_KAFKA_SSL_CA_FILE'
            : `the broker certificate is not trusted by kafka.ssl.caFile=${ctx.caFile} or does not name the broker host`),
        { cause: new Error(msg) },
      );
    }
  }
  return undefined;
}
