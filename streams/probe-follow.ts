import type { Kafka } from 'kafkajs';
import type { Counter } from 'prom-client';
import { selectBackend } from '../src/backend/index.ts';
import type { ProbeConfig } from '../src/config/probe.ts';
import { scorerSection, type ScorerConfig } from '../src/config/scorer.ts';
import type { Logger } from '../src/log.ts';
import type { LlamaModel } from '../src/model/llama.ts';
import type { SchemaRegistry } from '../src/schemas/registry.ts';
import { buildPrismScorer, openProbeModel, type ProbeIdentity } from '../src/scorer-host/open.ts';
import type { TurnTokenizer } from '../src/tokenizer/types.ts';
import {
  awaitCatchUp,
  checkpointStep,
  countFollowEvent,
  followedModelId,
  requireTopic,
  swapsCounter,
} from './probe-follow-common.ts';
import {
  FollowingScorer,
  startProbeFollow,
  type FollowEvent,
  type ProbeFollow,
} from '../src/trainer/model-updates/index.ts';

export interface ProbeFollowDeps {
  readonly probe: ProbeConfig;
  readonly kafka: Kafka;
  /** topics.modelUpdates */
  readonly topic: string;
  readonly registry: SchemaRegistry;
  readonly log: Logger;
  /** How long start-up waits to read the existing ModelUpdates (so it starts on the newest). */
  readonly catchUpTimeoutMs?: number;
  /** input.limits.maxTokens for the scorers built here. */
  readonly maxTokens?: number;
}

export interface OpenedFollowingScorer {
  readonly scorer: FollowingScorer<LlamaModel>;
  /** prism_probe_swaps_total{result}: register it on the pipeline's registry. */
  readonly swaps: Counter<'result'>;
  /** Stops watching topics.modelUpdates and frees a loaded model not swapped in yet. */
  stop(): Promise<void>;
}

/**
 * `probe.mode: follow`: the tfjs PRISM scorer on `scorer.modelDir`, wrapped in a FollowingScorer
 * that watches topics.modelUpdates for `probe.followModelId`. Checkpoints are verified (sha256)
 * and loaded in the background; the score operator swaps them in between micro-batches.
 */
export async function openFollowingScorer(
  config: Partial<ScorerConfig>,
  deps: ProbeFollowDeps,
): Promise<OpenedFollowingScorer> {
  const cfg = scorerSection.parse(config);
  const { log } = deps;
  const modelId = followedModelId(deps.probe);
  await requireTopic(deps.kafka, deps.topic);

  const backend = await selectBackend(cfg.backend, { logger: log });
  const base = await openProbeModel({ modelDir: cfg.modelDir });
  // The shared builder (scorer-host/open.ts): every scorer.* key applies in follow mode as in prism run.
  const makeScorer = (model: LlamaModel, tokenizer: TurnTokenizer | null, identity: ProbeIdentity) =>
    buildPrismScorer(
      { model, tokenizer, identity },
      { cfg, backend: backend.kind, maxTokens: deps.maxTokens, logger: log },
    );
  const initial = makeScorer(base.model, base.tokenizer, {
    probeModelId: cfg.probeModelId ?? base.identity.probeModelId,
    probeModelVersion: cfg.probeModelVersion ?? base.identity.probeModelVersion,
  });

  const swaps = swapsCounter();
  const onEvent = (e: FollowEvent): void => countFollowEvent(swaps, log, e);

  let follow: ProbeFollow;
  try {
    follow = await startProbeFollow({
      kafka: deps.kafka,
      registry: deps.registry,
      topic: deps.topic,
      modelId,
      serving: base.model,
      current: { version: initial.probeModelVersion, step: await checkpointStep(cfg.modelDir) },
      log,
      onEvent,
    });
  } catch (err) {
    initial.dispose();
    throw err;
  }
  await awaitCatchUp(follow.watcher.caughtUp, follow.follower, deps);

  const scorer = new FollowingScorer<LlamaModel>({
    follower: follow.follower,
    initial,
    makeScorer: (model, update) =>
      makeScorer(model, base.tokenizer, { probeModelId: update.model_id, probeModelVersion: update.version }),
    log,
  });
  // Nothing is scored yet: take the newest published version now, so the run starts on it.
  scorer.swapIfReady();
  log.info(
    { followModelId: modelId, topic: deps.topic, serving: initial.probeModelVersion, backend: backend.kind },
    'probe follow mode: swapping verified checkpoints between micro-batches',
  );
  return { scorer, swaps, stop: () => follow.stop() };
}
