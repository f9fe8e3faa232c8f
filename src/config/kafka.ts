import { z } from 'zod';
import { Secret } from './secret.ts';

export const DEFAULT_BROKERS = '127.0.0.1:19092';

/** Broker address: flag, then PRISM_KAFKA_BROKERS, then the local default. */
export function resolveBrokers(flag?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = flag ?? env.PRISM_KAFKA_BROKERS ?? DEFAULT_BROKERS;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A password given inline (config/env): kept as a Secret so it never prints. */
const secretString = z
  .string()
  .min(1)
  .transform((s) => new Secret(s));

/**
 * `kafka.ssl`: TLS to the brokers. Enabled when `enabled` is true or any file is set. The server
 * certificate is verified against `caFile` (or the system CAs) including its host name, unless
 * `rejectUnauthorized: false` (for experiments only; logged as a warning).
 */
export const kafkaSslSection = z
  .object({
    enabled: z.boolean().default(false),
    /** PEM bundle of CAs to trust (default: Node's built-in CAs). */
    caFile: z.string().min(1).optional(),
    /** Client certificate (PEM) for mutual TLS, with `keyFile`. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** File holding the passphrase of an encrypted `keyFile`. */
    keyPasswordFile: z.string().min(1).optional(),
    rejectUnauthorized: z.boolean().default(true),
    /** Override the name checked against the certificate (default: the broker host). */
    servername: z.string().min(1).optional(),
  })
  .strict();

/** `kafka.sasl`: SASL authentication (PLAIN or SCRAM); the password inline or, better, in a file. */
export const kafkaSaslSection = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    username: z.string().min(1).optional(),
    password: secretString.optional(),
    /** File whose content (trailing newline stripped) is the password. */
    passwordFile: z.string().min(1).optional(),
  })
  .strict();

export const kafkaSection = z
  .object({
    brokers: z
      .array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port'))
      .min(1)
      .default([DEFAULT_BROKERS]),
    clientId: z.string().default('prism-stream'),
    connectionTimeoutMs: z.number().int().positive().default(3000),
    requestTimeoutMs: z.number().int().positive().default(30000),
    /**
     * A running `prism run` / `prism train` that gets no broker response for this long exits
     * non-zero (BROKER_UNAVAILABLE) without committing in-flight work; shorter outages are
     * ridden out with reconnects and backoff.
     */
    unavailablePatienceMs: z.number().int().min(1000).default(120_000),
    /** Budget for the first connection (TLS + SASL) before a run gives up with a typed error. */
    authTimeoutMs: z.number().int().positive().default(10000),
    ssl: kafkaSslSection.prefault({}),
    sasl: kafkaSaslSection.prefault({}),
  })
  .strict()
  .superRefine((k, ctx) => {
    const s = k.sasl;
    const any =
      s.mechanism !== undefined ||
      s.username !== undefined ||
      s.password !== undefined ||
      s.passwordFile !== undefined;
    if (any) {
      if (s.mechanism === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['sasl', 'mechanism'],
          message: 'required when SASL is configured (plain, scram-sha-256, scram-sha-512)',
        });
      if (s.username === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['sasl', 'username'],
          message: 'required when SASL is configured',
        });
      if ((s.password === undefined) === (s.passwordFile === undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['sasl', 'password'],
          message: 'set exactly one of kafka.sasl.password and kafka.sasl.passwordFile',
        });
    }
    if ((k.ssl.certFile === undefined) !== (k.ssl.keyFile === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['ssl', 'certFile'],
        message: 'kafka.ssl.certFile and kafka.ssl.keyFile go together',
      });
  });

export type KafkaConfig = z.infer<typeof kafkaSection>;
export type KafkaSslConfig = z.infer<typeof kafkaSslSection>;
export type KafkaSaslConfig = z.infer<typeof kafkaSaslSection>;
