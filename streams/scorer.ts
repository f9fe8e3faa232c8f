import type { Kafka } from 'kafkajs';
import type { Metric } from 'prom-client';
import type { SchemaRegistryConfig } from '../src/config/input.ts';
import type { ProbeConfig, RunScorerConfig } from '../src/config/schema.ts';
import type { Logger } from '../src/log.ts';
import { createSchemaRegistry } from '../src/schema-store/from-config.ts';
import { DeterministicScorer, NoopScorer } from '../src/scorer/deterministic.ts';
import type { Scorer } from '../src/scorer/types.ts';

export interface OpenedRunScorer {
  readonly scorer: Scorer;
  /** tf.memory().numTensors, for the prism_tfjs_tensors gauge (tfjs scorers only). */
  readonly liveTensors?: () => number;
  /** Extra metrics to register on the pipeline's registry (probe follow mode). */
  readonly metrics?: readonly Metric[];
  /** Stops background work (probe follow mode: the ModelUpdate watcher). */
  readonly stop?: () => Promise<void>;
  /** Why the scorer cannot score now (scorer.kind torch: the service is away), for /readyz; undefined = fine. */
  readonly readiness?: () => string | undefined;
}

/** What `probe.mode: follow` needs besides the scorer section. */
export interface RunProbeOptions {
  readonly probe: ProbeConfig;
  readonly kafka: Kafka;
  /** topics.modelUpdates */
  readonly topic: string;
  readonly schemaRegistry: Partial<SchemaRegistryConfig>;
}

/**
 * The scorer `scorer.kind` names; with `probe.mode: follow` the prism scorer follows a trainer's
 * checkpoints. The tfjs stack is imported only when it is used.
 */
export async function openRunScorer(
  cfg: RunScorerConfig,
  log: Logger,
  probe?: RunProbeOptions,
  limits: { readonly maxTokens?: number } = {},
): Promise<OpenedRunScorer> {
  const { maxTokens } = limits;
  switch (cfg.kind) {
    case 'deterministic':
      return {
        scorer: new DeterministicScorer({
          probeModelVersion: cfg.deterministic.probeModelVersion,
          delayMs: cfg.deterministic.delayMs,
          failIds:
            cfg.deterministic.failIds === undefined ? undefined : new RegExp(cfg.deterministic.failIds),
        }),
      };
    case 'noop':
      return { scorer: new NoopScorer() };
    case 'torch': {
      const { kind: _kind, deterministic: _d, ...scorerConfig } = cfg;
      if (probe?.probe.mode === 'follow') {
        // Verified checkpoints are RELOADed into the service between micro-batches (issue 18).
        const { openTorchFollowingScorer } = await import('./probe-follow-torch.ts');
        const { scorer, swaps, readiness, stop } = await openTorchFollowingScorer(scorerConfig, {
          ...probe,
          registry: createSchemaRegistry(probe.schemaRegistry),
          log,
          maxTokens,
        });
        return { scorer, readiness, metrics: [swaps], stop };
      }
      const { openTorchScorer } = await import('../src/scorer-host/torch/open.ts');
      const scorer = await openTorchScorer(scorerConfig, { logger: log, maxTokens });
      return { scorer, readiness: () => scorer.notReadyReason() };
    }
    case 'prism': {
      const { kind: _kind, deterministic: _d, ...scorerConfig } = cfg;
      if (probe?.probe.mode === 'follow' && scorerConfig.thread === 'worker') {
        // Checkpoints load and swap inside the scorer worker; this thread never runs a tfjs op.
        const { openWorkerFollowRun } = await import('./probe-follow-worker.ts');
        const registry = createSchemaRegistry(probe.schemaRegistry);
        return openWorkerFollowRun(scorerConfig, { ...probe, registry, log, maxTokens });
      }
      if (probe?.probe.mode === 'follow') {
        const [{ openFollowingScorer }, tf] = await Promise.all([
          import('./probe-follow.ts'),
          import('@tensorflow/tfjs'),
        ]);
        const { scorer, swaps, stop } = await openFollowingScorer(scorerConfig, {
          ...probe,
          registry: createSchemaRegistry(probe.schemaRegistry),
          log,
          maxTokens,
        });
        return { scorer, liveTensors: () => tf.memory().numTensors, metrics: [swaps], stop };
      }
      if (scorerConfig.thread === 'worker') {
        // The model lives in a worker thread; this thread never runs a tfjs op (event loop stays free).
        const [{ WorkerScorer }, { eventLoopDelayMetric }] = await Promise.all([
          import('../src/scorer-host/worker/worker-scorer.ts'),
          import('../src/scorer-host/worker/event-loop-metric.ts'),
        ]);
        const scorer = await WorkerScorer.open({ config: scorerConfig, maxTokens }, { logger: log });
        const delay = eventLoopDelayMetric();
        return {
          scorer,
          liveTensors: () => scorer.liveTensors(),
          metrics: [delay.gauge],
          stop: () => Promise.resolve(delay.stop()),
        };
      }
      const [{ openPrismScorer }, tf] = await Promise.all([
        import('../src/scorer-host/open.ts'),
        import('@tensorflow/tfjs'),
      ]);
      const { scorer } = await openPrismScorer(scorerConfig, { logger: log, maxTokens });
      return { scorer, liveTensors: () => tf.memory().numTensors };
    }
  }
}
