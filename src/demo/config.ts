import type { BackendKind } from '../backend/select.ts';
import { configSchema, type PrismConfig } from '../config/schema.ts';
import type { DemoSettings } from './settings.ts';

export interface DemoConfigInput {
  readonly brokers: readonly string[];
  /** The warm-started model: the arbitrator's probe and both trainers' starting point. */
  readonly modelDir: string;
  readonly checkpointRoot: string;
  readonly settings: DemoSettings;
  /** The backend selected at start (the scorer selects it again; the trainers keep it). */
  readonly backend: BackendKind;
}

/**
 * The demo's config through the one schema (src/config/schema.ts), so every default and check of
 * `prism run` / `prism train` applies. PRISM_* variables and config files are deliberately not read:
 * the demo must behave the same on every machine.
 */
export function demoConfig(i: DemoConfigInput): PrismConfig {
  const s = i.settings;
  const trainer = (lr: number) => ({
    initModelDir: i.modelDir,
    microBatchSize: s.trainerMicroBatch,
    // A quiet stream trains its partial micro-batch after a second instead of two.
    maxBatchWaitMs: 1000,
    maxSeqLen: s.maxSeqLen,
    optimizer: { lr, warmupSteps: 5 },
    checkpoint: { everySteps: s.checkpointEverySteps, everySeconds: 120, keep: 2 },
    metrics: { enabled: false },
    // Scorer and both trainers share one event loop here, and a time-based checkpoint (fsync) can
    // coincide with a CPU-starved stretch: on a busy 2-core machine (load 12) the 60 s default
    // evicted both trainers once. The broker allows up to 300 s.
    sessionTimeoutMs: 180_000,
  });
  return configSchema.parse({
    kafka: { brokers: [...i.brokers], clientId: 'prism-demo' },
    scorer: {
      kind: 'prism',
      modelDir: i.modelDir,
      backend: i.backend,
      maxSeqLen: s.maxSeqLen,
      batchSize: 16,
    },
    consumer: {
      groupId: 'prism-demo-arbitrator',
      fromBeginning: true,
      partitionsConsumedConcurrently: 3,
      sessionTimeoutMs: 90_000,
      rebalanceTimeoutMs: 120_000,
    },
    batch: { size: 32, maxWaitMs: 250 },
    arbitration: { policy: 'median', metric: 'gini', warmup: s.arbitrationWarmup },
    delivery: { mode: 'exactly-once', transactionalIdPrefix: 'prism-demo' },
    lifecycle: { shutdownTimeoutMs: 20_000 },
    // Port 0: never collides with a `prism run` already serving 9464.
    http: { enabled: true, host: '127.0.0.1', port: 0 },
    trainer: {
      checkpointRoot: i.checkpointRoot,
      backend: i.backend,
      sft: { modelId: 'demo-sft', groupId: 'prism-demo-sft', ...trainer(3e-4) },
      rl: {
        modelId: 'demo-rl',
        groupId: 'prism-demo-rl',
        initFrom: 'model',
        ...trainer(1e-4),
        // prism gen writes GRPO groups of 4; the arbitrator splits them, so wait a little, then use the baseline.
        advantage: { groupSize: s.stream.groupSize, windowMs: 5000 },
      },
    },
  });
}
