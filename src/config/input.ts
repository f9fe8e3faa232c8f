import { z } from 'zod';

/** Limits applied to every incoming trajectory (see src/schemas/validate.ts). */
export const DEFAULT_LIMITS = {
  maxTurns: 512,
  maxTokens: 131_072,
  // Kafka's default message.max.bytes is 1048588: larger records need topic and broker changes too.
  maxBytes: 1_000_000,
} as const;

export const limitsSection = z
  .object({
    /** More turns than this: TOO_MANY_TURNS. */
    maxTurns: z.number().int().positive().default(DEFAULT_LIMITS.maxTurns),
    /** More tokens than this (token_ids at validation; text turns too, once tokenized by the scorer/trainer): TOO_MANY_TOKENS. */
    maxTokens: z.number().int().positive().default(DEFAULT_LIMITS.maxTokens),
    /** Encoded value (or JSONL line) longer than this many bytes: RECORD_TOO_LARGE, checked before decoding. */
    maxBytes: z.number().int().positive().default(DEFAULT_LIMITS.maxBytes),
  })
  .strict();

export const schemaRegistrySection = z
  .object({
    /** Confluent-compatible Schema Registry base URL; when set, schema ids come from it (subject `<topic>-value`). */
    url: z.url().optional(),
    /** registry.json to take ids from when no url is set; default: the bundled schemas/registry.json. */
    localFile: z.string().min(1).optional(),
    /** Register our schema on first encode when it is not yet registered (HTTP registry only). */
    autoRegister: z.boolean().default(true),
    /** HTTP timeout per registry request. */
    timeoutMs: z.number().int().positive().default(5000),
  })
  .strict();

export const inputSection = z
  .object({
    /** Value format on the trajectories topic: Confluent Avro wire format, or plain UTF-8 JSON. */
    format: z.enum(['avro', 'json']).default('avro'),
    schemaRegistry: schemaRegistrySection.prefault({}),
    limits: limitsSection.prefault({}),
  })
  .strict();

export type InputConfig = z.infer<typeof inputSection>;
export type InputLimits = z.infer<typeof limitsSection>;
export type SchemaRegistryConfig = z.infer<typeof schemaRegistrySection>;
