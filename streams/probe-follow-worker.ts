import type { Counter } from 'prom-client';
import { scorerSection, type ScorerConfig } from '../src/config/scorer.ts';
import { eventLoopDelayMetric } from '../src/scorer-host/worker/event-loop-metric.ts';
import { WorkerFollowingScorer } from '../src/scorer-host/worker/following.ts';
import { WorkerScorer, type WorkerModel } from '../src/scorer-host/worker/worker-scorer.ts';
import { ModelFollower } from '../src/trainer/model-updates/follower.ts';
import type { ProbeFollowDeps } from './probe-follow.ts';
import {
  awaitCatchUp,
  checkpointStep,
  countFollowEvent,
  followedModelId,
  requireTopic,
  swapsCounter,
  watchFollowed,
} from './probe-follow-common.ts';
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
  const { log } = deps;
  const modelId = followedModelId(deps.probe);
  await requireTopic(deps.kafka, deps.topic);
  const base = await WorkerScorer.open({ config, maxTokens: deps.maxTokens }, { logger: log });
  const swaps = swapsCounter();
  const follower = new ModelFollower<WorkerModel>({
    modelId,
    current: { version: base.probeModelVersion, step: await checkpointStep(cfg.modelDir) },
    load: (dir) => base.preload(dir),
    dispose: (m) => base.release(m),
    log,
    onEvent: (e) => countFollowEvent(swaps, log, e),
  });
  const watcher = await watchFollowed(follower, deps, modelId, () => base.dispose());
  const scorer = new WorkerFollowingScorer({ scorer: base, follower, log });
  await awaitCatchUp(watcher.caughtUp, follower, deps);
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
