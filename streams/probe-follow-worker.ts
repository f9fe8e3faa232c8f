import { Counter } from 'prom-client';
import { scorerSection, type ScorerConfig } from '../src/config/scorer.ts';
import { ConfigError } from '../src/errors.ts';
import { RecordCodec } from '../src/schemas/codec.ts';
import { eventLoopDelayMetric } from '../src/scorer-host/worker/event-loop-metric.ts';
import { WorkerFollowingScorer } from '../src/scorer-host/worker/following.ts';
import { WorkerScorer, type WorkerModel } from '../src/scorer-host/worker/worker-scorer.ts';
import { ModelFollower, type FollowEvent } from '../src/trainer/model-updates/follower.ts';
import { watchModelUpdates } from '../src/trainer/model-updates/watcher.ts';
import type { ProbeFollowDeps } from './probe-follow.ts';
import { checkpointStep, requireTopic } from './probe-follow-common.ts';
import type { OpenedRunScorer } from './scorer.ts';

export interface OpenedWorkerFollowingScorer {
  readonly scorer: WorkerFollowingScorer;
  /** prism_probe_swaps_total{result}: register it on the pipeline's registry. */
  readonly swaps: Counter<'result'>;
  /** Stops watching topics.modelUpdates and frees a loaded checkpoint not adopted yet. */
  stop(): Promise<void>;
}

/**
 * `probe.mode: follow` with `scorer.thread: worker` (the default): the tfjs scorer on `scorer.modelDir`
 * in a worker thread, following `probe.followModelId` on topics.modelUpdates. Checkpoints are verified
 * (sha256) here and loaded inside the worker in the background; the score operator swaps them in
 * between micro-batches (src/scorer-host/worker/following.ts).
 */
export async function openWorkerFollowingScorer(
  config: Partial<ScorerConfig>,
  deps: ProbeFollowDeps,
): Promise<OpenedWorkerFollowingScorer> {
  const cfg = scorerSection.parse(config);
  const { log, probe } = deps;
  const modelId = probe.followModelId;
  if (modelId === undefined)
    throw new ConfigError('probe.followModelId is required when probe.mode is "follow"');
  await requireTopic(deps.kafka, deps.topic);
  const base = await WorkerScorer.open({ config, maxTokens: deps.maxTokens }, { logger: log });
  const swaps = new Counter({
    name: 'prism_probe_swaps_total',
    help: 'probe.mode follow: ModelUpdates by result (loaded = verified and waiting for the next micro-batch, applied = serving, rejected = refused, e.g. sha256 mismatch; ignored = not newer)',
    labelNames: ['result'],
    registers: [],
  });
  for (const result of ['loaded', 'applied', 'rejected', 'ignored']) swaps.inc({ result }, 0);
  const follower = new ModelFollower<WorkerModel>({
    modelId,
    current: { version: base.probeModelVersion, step: await checkpointStep(cfg.modelDir) },
    load: (dir) => base.preload(dir),
    dispose: (m) => base.release(m),
    log,
    onEvent: (e: FollowEvent) => {
      swaps.inc({ result: e.kind });
      if (e.kind === 'ignored')
        log.info(
          { modelId: e.update.model_id, version: e.update.version, reason: e.reason },
          'model update ignored',
        );
    },
  });
  const codec = new RecordCodec('model-update', {
    format: 'avro',
    registry: deps.registry,
    topic: deps.topic,
  });
  const watcher = await watchModelUpdates(follower, {
    kafka: deps.kafka,
    topic: deps.topic,
    modelId,
    decode: (v) => codec.decode(v),
    log,
  }).catch((err: unknown) => {
    base.dispose();
    throw err;
  });
  const scorer = new WorkerFollowingScorer({ scorer: base, follower, log });
  // Read the versions already published, so the run can start on the newest one.
  const caughtUp = await Promise.race([
    watcher.caughtUp.then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), deps.catchUpTimeoutMs ?? 30_000).unref()),
  ]);
  if (caughtUp) await follower.idle();
  else
    log.warn(
      { topic: deps.topic },
      'model updates not read to the end yet; starting on the configured model',
    );
  // Nothing is scored yet: serve the newest published version now.
  scorer.swapIfReady();
  log.info(
    { followModelId: modelId, topic: deps.topic, serving: scorer.probeModelVersion, backend: base.backend },
    'probe follow mode: checkpoints load in the scorer worker and swap in between micro-batches',
  );
  const stop = async (): Promise<void> => {
    await watcher.stop();
    await follower.close();
  };
  return { scorer, swaps, stop };
}

/** `prism run`'s scorer for probe.mode follow in a worker: the following scorer plus the event-loop delay gauge. */
export async function openWorkerFollowRun(
  config: Partial<ScorerConfig>,
  deps: ProbeFollowDeps,
): Promise<OpenedRunScorer> {
  const { scorer, swaps, stop } = await openWorkerFollowingScorer(config, deps);
  const delay = eventLoopDelayMetric();
  return {
    scorer,
    liveTensors: () => scorer.liveTensors(),
    metrics: [swaps, delay.gauge],
    stop: async () => {
      delay.stop();
      await stop();
    },
  };
}
