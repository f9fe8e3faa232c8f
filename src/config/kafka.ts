import { z } from 'zod';

export const DEFAULT_BROKERS = '127.0.0.1:19092';

/** Broker address: flag, then PRISM_KAFKA_BROKERS, then the local default. */
export function resolveBrokers(flag?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = flag ?? env.PRISM_KAFKA_BROKERS ?? DEFAULT_BROKERS;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const kafkaSection = z
  .object({
    brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port')).min(1).default([DEFAULT_BROKERS]),
    clientId: z.string().default('prism-stream'),
    connectionTimeoutMs: z.number().int().positive().default(3000),
    requestTimeoutMs: z.number().int().positive().default(30000),
  })
  .strict();

export type KafkaConfig = z.infer<typeof kafkaSection>;
