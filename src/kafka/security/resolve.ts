import { readFileSync } from 'node:fs';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import {
  kafkaSaslSection,
  kafkaSslSection,
  type KafkaSaslConfig,
  type KafkaSslConfig,
} from '../../config/kafka.ts';
import { Secret } from '../../config/secret.ts';
import { ConfigError, errorMessage } from '../../errors.ts';
import { KafkaSecurityError } from './errors.ts';

/** The `kafka.ssl` / `kafka.sasl` part of the config (what createKafka needs for security). */
export interface KafkaSecurityConfig {
  readonly ssl: KafkaSslConfig;
  readonly sasl: KafkaSaslConfig;
}

/** Ready-to-use kafkajs options plus a secret-free description for logs. */
export interface ResolvedKafkaSecurity {
  readonly ssl?: ConnectionOptions;
  readonly sasl?: SASLOptions;
  /** e.g. "SASL_SSL scram-sha-512 user=prism ca=/x/ca.pem" (no secrets) */
  readonly describe: string;
  /** Secret values, for scrubbing library messages. Never log this. */
  readonly secrets: readonly Secret[];
  readonly enabled: boolean;
  /** For error messages: the CA file and SASL user (not secret). */
  readonly caFile?: string;
  readonly username?: string;
}

export function sslEnabled(ssl: KafkaSslConfig): boolean {
  return ssl.enabled || ssl.caFile !== undefined || ssl.certFile !== undefined;
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    // errorMessage of an fs error names the path and errno only, never file contents.
    throw new KafkaSecurityError(
      'KAFKA_SECRET_UNREADABLE',
      `cannot read ${what} ${path}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
}

function readPemFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new KafkaSecurityError(
      'KAFKA_SECRET_UNREADABLE',
      `cannot read ${what} ${path}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** Reads the CA/cert/key/password files and builds kafkajs' `ssl` and `sasl` options. */
export function resolveKafkaSecurity(cfg: KafkaSecurityConfig): ResolvedKafkaSecurity {
  const parts: string[] = [];
  const secrets: Secret[] = [];
  let ssl: ConnectionOptions | undefined;
  if (sslEnabled(cfg.ssl)) {
    const s = cfg.ssl;
    ssl = {
      rejectUnauthorized: s.rejectUnauthorized,
      // Explicit, so a caller's options can never switch host-name verification off silently.
      checkServerIdentity: s.rejectUnauthorized ? checkServerIdentity : () => undefined,
      ...(s.servername === undefined ? {} : { servername: s.servername }),
      ...(s.caFile === undefined ? {} : { ca: [readPemFile(s.caFile, 'kafka.ssl.caFile')] }),
      ...(s.certFile === undefined ? {} : { cert: readPemFile(s.certFile, 'kafka.ssl.certFile') }),
      ...(s.keyFile === undefined ? {} : { key: readPemFile(s.keyFile, 'kafka.ssl.keyFile') }),
    };
    if (s.keyPasswordFile !== undefined) {
      const pass = new Secret(readSecretFile(s.keyPasswordFile, 'kafka.ssl.keyPasswordFile'));
      secrets.push(pass);
      ssl.passphrase = pass.reveal();
    }
    parts.push(
      `ssl${s.caFile === undefined ? '' : ` ca=${s.caFile}`}${s.certFile === undefined ? '' : ` cert=${s.certFile}`}` +
        (s.rejectUnauthorized ? '' : ' VERIFICATION-OFF'),
    );
  }
  let sasl: SASLOptions | undefined;
  const a = cfg.sasl;
  if (a.mechanism !== undefined) {
    if (a.username === undefined)
      throw new ConfigError('invalid config: kafka.sasl.username: required when SASL is configured');
    const password =
      a.password ??
      (a.passwordFile === undefined
        ? undefined
        : new Secret(readSecretFile(a.passwordFile, 'kafka.sasl.passwordFile')));
    if (password === undefined)
      throw new ConfigError(
        'invalid config: kafka.sasl.password: set kafka.sasl.password or kafka.sasl.passwordFile',
      );
    secrets.push(password);
    sasl = { mechanism: a.mechanism, username: a.username, password: password.reveal() } as SASLOptions;
    parts.push(`sasl ${a.mechanism} user=${a.username}`);
  }
  return {
    ssl,
    sasl,
    secrets,
    enabled: ssl !== undefined || sasl !== undefined,
    caFile: ssl === undefined ? undefined : cfg.ssl.caFile,
    username: sasl === undefined ? undefined : a.username,
    describe: parts.length === 0 ? 'plaintext' : parts.join(', '),
  };
}

/** PRISM_KAFKA_SSL_* / PRISM_KAFKA_SASL_* for clients built without a loaded config (CLI tools). */
export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSecurityConfig {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const bool = (name: string): boolean | undefined => {
    const v = get(name)?.toLowerCase();
    return v === undefined ? undefined : ['1', 'true', 'yes', 'on'].includes(v);
  };
  const ssl = kafkaSslSection.safeParse({
    enabled: bool('PRISM_KAFKA_SSL_ENABLED'),
    caFile: get('PRISM_KAFKA_SSL_CA_FILE'),
    certFile: get('PRISM_KAFKA_SSL_CERT_FILE'),
    keyFile: get('PRISM_KAFKA_SSL_KEY_FILE'),
    keyPasswordFile: get('PRISM_KAFKA_SSL_KEY_PASSWORD_FILE'),
    rejectUnauthorized: bool('PRISM_KAFKA_SSL_REJECT_UNAUTHORIZED'),
    servername: get('PRISM_KAFKA_SSL_SERVERNAME'),
  });
  const sasl = kafkaSaslSection.safeParse({
    mechanism: get('PRISM_KAFKA_SASL_MECHANISM')?.toLowerCase(),
    username: get('PRISM_KAFKA_SASL_USERNAME'),
    password: get('PRISM_KAFKA_SASL_PASSWORD'),
    passwordFile: get('PRISM_KAFKA_SASL_PASSWORD_FILE'),
  });
  if (!ssl.success)
    throw new ConfigError(
      `invalid PRISM_KAFKA_SSL_* environment: ${ssl.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  // Issues name the field only; zod never echoes the password value for enum/min errors.
  if (!sasl.success)
    throw new ConfigError(
      `invalid PRISM_KAFKA_SASL_* environment: ${sasl.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return { ssl: ssl.data, sasl: sasl.data };
}

/**
 * Explicit plaintext, for clients of a broker this process started itself (bench, demo): the
 * user's PRISM_KAFKA_SASL_* / PRISM_KAFKA_SSL_* environment is meant for their brokers, not those.
 */
export const PLAINTEXT_SECURITY: KafkaSecurityConfig = {
  ssl: kafkaSslSection.parse({}),
  sasl: kafkaSaslSection.parse({}),
};
