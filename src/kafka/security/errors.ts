import { PrismError } from '../../errors.ts';

/** Stable reason codes of KafkaSecurityError; all exit 2 (fix the configuration, do not retry). */
export type KafkaSecurityCode =
  | 'KAFKA_AUTH_FAILED' // the broker rejected the SASL credentials
  | 'KAFKA_TLS_FAILED' // the broker certificate was not trusted or did not match the host
  | 'KAFKA_SECRET_UNREADABLE' // a CA/cert/key/password file could not be read
  | 'KAFKA_SECURITY_TIMEOUT'; // no authenticated connection within kafka.authTimeoutMs

/** TLS/SASL set-up or verification failed. Messages name files and users, never secret values. */
export class KafkaSecurityError extends PrismError {
  declare readonly code: KafkaSecurityCode;

  constructor(code: KafkaSecurityCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, exitCode: 2 });
  }
}

/** Replace every occurrence of each secret in `text` (defence in depth for messages from libraries). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('[redacted]');
  return out;
}
