import { z } from 'zod';
import { arbitrationSection } from './arbitrator.ts';
import { inputSection } from './input.ts';
import { kafkaSection } from './kafka.ts';
import { probeScorerIssue, probeSection } from './probe.ts';
import { scorerSection } from './scorer.ts';
import { Secret } from './secret.ts';
import { topicsSection } from './topics.ts';
import { trainerSection } from './trainer.ts';

/**
 * The ONE configuration schema of prism-stream. Section files (kafka.ts, topics.ts, …) own
 * their keys; this file composes them and adds the stream-runtime sections owned by the
 * pipeline (consumer, batch, delivery, lifecycle, http). Defaults make `{}` a valid config.
 */

/**
 * `scorer` = the PRISM scorer's section (scorer.ts) plus which scorer `prism run` uses:
 * `prism` (the tfjs probe model), `torch` (the PyTorch scorer service, scorer.torch), `deterministic`
 * (hash of the id; delivery tests) or `noop` (constant scores; `prism bench pipeline`).
 */
export const runScorerSection = scorerSection.extend({
  kind: z.enum(['prism', 'deterministic', 'noop', 'torch']).default('prism'),
  deterministic: z
    .object({
      /** Sleep per micro-batch (a slow model, without blocking the event loop). */
      delayMs: z.number().int().min(0).default(0),
      /** Trajectory ids matching this regular expression get a failed score (→ DLQ). */
      failIds: z.string().min(1).optional(),
      probeModelVersion: z.string().min(1).default('1'),
    })
    .strict()
    .prefault({}),
});

/** `consumer`: the kafkajs group member and its flow control. */
export const consumerSection = z
  .object({
    groupId: z.string().min(1).default('prism-stream'),
    /** Where a group with no committed offset starts. */
    fromBeginning: z.boolean().default(true),
    sessionTimeoutMs: z.number().int().min(1000).default(30_000),
    rebalanceTimeoutMs: z.number().int().min(1000).default(60_000),
    heartbeatIntervalMs: z.number().int().min(100).default(3_000),
    /** Longest a fetch waits for data; also the idle heartbeat cadence of a fully paused consumer. */
    maxWaitTimeMs: z.number().int().min(10).default(500),
    maxBytesPerPartition: z.number().int().min(1024).default(1_048_576),
    /** kafkajs workers; lane opening (producer init) runs this many partitions at once. */
    partitionsConsumedConcurrently: z.number().int().min(1).default(4),
    /** Pause a partition when this many of its records are in flight (read, not yet committed). */
    highWatermark: z.number().int().min(1).default(1024),
    /** Resume it when in-flight drops to this many. */
    lowWatermark: z.number().int().min(0).default(512),
    /**
     * Also pause a partition when the key + value bytes of its in-flight records reach this
     * (resume at half): bounds memory when records are large, where the record watermarks alone
     * would allow highWatermark × input.limits.maxBytes per partition.
     */
    maxInFlightBytes: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024),
  })
  .strict();

/** `batch`: micro-batches handed to the scorer (size or time, whichever comes first). */
export const batchSection = z
  .object({
    size: z.number().int().min(1).default(64),
    maxWaitMs: z.number().int().min(1).default(250),
  })
  .strict();

/** `delivery`: exactly-once (transactions, one producer per input partition) or at-least-once. */
export const deliverySection = z
  .object({
    mode: z.enum(['exactly-once', 'at-least-once']).default('exactly-once'),
    /** transactional.id = `<prefix>-<group>-<topic>-<partition>`. */
    transactionalIdPrefix: z.string().min(1).default('prism'),
    transactionTimeoutMs: z.number().int().min(1000).default(60_000),
    /** Attempts per micro-batch write before the process gives up (exit 1, restart resumes). */
    maxAttempts: z.number().int().min(1).default(5),
  })
  .strict();

/** `lifecycle`: bounded shutdown and rebalance draining. */
export const lifecycleSection = z
  .object({
    /** SIGTERM/SIGINT: drain, commit and leave within this budget, then abort what is left. */
    shutdownTimeoutMs: z.number().int().min(100).default(30_000),
    /** Rebalance: how long revoked lanes may keep committing before they are aborted. */
    drainTimeoutMs: z.number().int().min(0).default(10_000),
  })
  .strict();

/** `http`: /metrics, /healthz, /readyz. */
export const httpSection = z
  .object({
    enabled: z.boolean().default(true),
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (logged at start). */
    port: z.number().int().min(0).max(65_535).default(9464),
    /** /readyz fails when no broker request succeeded for this long. */
    brokerStaleMs: z.number().int().min(1000).default(15_000),
    /** Bearer token for /metrics and /dashboard (PRISM_HTTP_AUTH_TOKEN); never printed. */
    authToken: z
      .string()
      .min(16)
      .transform((s) => new Secret(s))
      .optional(),
    /** File holding the bearer token (preferred over authToken). */
    authTokenFile: z.string().min(1).optional(),
    /** Requests with a larger body get 413. */
    maxBodyBytes: z.number().int().min(0).default(65_536),
    /** Token bucket per server: sustained requests/s and burst; more → 429. */
    rateLimitPerSecond: z.number().positive().default(50),
    rateLimitBurst: z.number().int().min(1).default(100),
  })
  .strict();

export const configSchema = z
  .object({
    kafka: kafkaSection.prefault({}),
    topics: topicsSection.prefault({}),
    input: inputSection.prefault({}),
    scorer: runScorerSection.prefault({}),
    probe: probeSection.prefault({}),
    consumer: consumerSection.prefault({}),
    batch: batchSection.prefault({}),
    arbitration: arbitrationSection.prefault({}),
    delivery: deliverySection.prefault({}),
    lifecycle: lifecycleSection.prefault({}),
    http: httpSection.prefault({}),
    trainer: trainerSection.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.consumer.lowWatermark >= c.consumer.highWatermark) {
      ctx.addIssue({
        code: 'custom',
        path: ['consumer', 'lowWatermark'],
        message: `must be below consumer.highWatermark (${c.consumer.highWatermark})`,
      });
    }
    if (c.consumer.heartbeatIntervalMs >= c.consumer.sessionTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['consumer', 'heartbeatIntervalMs'],
        message: `must be below consumer.sessionTimeoutMs (${c.consumer.sessionTimeoutMs})`,
      });
    }
    // Held warm-up records count as in flight: if one partition cannot hold a full warm-up,
    // it pauses before the window is warm and never resumes.
    if (
      c.arbitration.policy !== 'threshold' &&
      c.arbitration.calibrate === undefined &&
      c.arbitration.warmup > c.consumer.highWatermark
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['arbitration', 'warmup'],
        message: `must not exceed consumer.highWatermark (${c.consumer.highWatermark}) unless a calibration file seeds the window`,
      });
    }
    if (c.scorer.kind === 'deterministic' && c.scorer.deterministic.failIds !== undefined) {
      try {
        new RegExp(c.scorer.deterministic.failIds);
      } catch {
        ctx.addIssue({
          code: 'custom',
          path: ['scorer', 'deterministic', 'failIds'],
          message: 'not a valid regular expression',
        });
      }
    }
    const probeIssue = probeScorerIssue(c.probe, c.scorer.kind);
    if (probeIssue) ctx.addIssue({ code: 'custom', ...probeIssue });
    const names = [c.topics.sft, c.topics.rl, c.topics.dlq];
    if (names.includes(c.topics.trajectories)) {
      ctx.addIssue({
        code: 'custom',
        path: ['topics', 'trajectories'],
        message: 'the input topic cannot also be an output topic',
      });
    }
    if (new Set(names).size !== names.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['topics', 'sft'],
        message: 'topics.sft, topics.rl and topics.dlq must be distinct',
      });
    }
  });

export type PrismConfig = z.infer<typeof configSchema>;
export type ConsumerConfig = PrismConfig['consumer'];
export type BatchConfig = PrismConfig['batch'];
export type DeliveryConfig = PrismConfig['delivery'];
export type LifecycleConfig = PrismConfig['lifecycle'];
export type HttpConfig = PrismConfig['http'];
export type RunScorerConfig = PrismConfig['scorer'];
export type { ProbeConfig } from './probe.ts';
