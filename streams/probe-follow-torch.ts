import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counter } from 'prom-client';
import type { z } from 'zod';
import { scorerSection } from '../src/config/scorer.ts';
import { errorMessage } from '../src/errors.ts';
import { TorchFollowingScorer, type TorchCheckpoint } from '../src/scorer-host/torch/following.ts';
import { openTorchScorer } from '../src/scorer-host/torch/open.ts';
import { CheckpointError, TrainerReason } from '../src/trainer/errors.ts';
import { ModelFollower, type FollowEvent } from '../src/trainer/model-updates/follower.ts';
import type { ProbeFollowDeps } from './probe-follow.ts';
import {
  awaitCatchUp,
  checkpointStep,
  followedModelId,
  requireTopic,
  swapsCounter,
  watchFollowed,
} from './probe-follow-common.ts';

export interface OpenedTorchFollowingScorer {
  readonly scorer: TorchFollowingScorer;
  /** prism_probe_swaps_total{result}: register it on the pipeline's registry. */
  readonly swaps: Counter<'result'>;
  readonly readiness: () => string | undefined;
  /** Stops watching topics.modelUpdates (the scorer itself is disposed by the pipeline). */
  stop(): Promise<void>;
}

/** config.json's vocab_size of a model folder, undefined when there is none to read. */
async function vocabOf(dir: string | undefined): Promise<number | undefined> {
  if (dir === undefined) return undefined;
  try {
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { vocab_size?: unknown };
    return typeof cfg.vocab_size === 'number' ? cfg.vocab_size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `probe.mode: follow` with `scorer.kind: torch`: the PyTorch scorer service on `scorer.modelDir`,
 * wrapped in a TorchFollowingScorer that watches topics.modelUpdates for `probe.followModelId`.
 * Checkpoints are verified (sha256) here in the background and RELOADed into the service between
 * micro-batches (the service checks the sha256 again); outputs then carry the new version.
 */
export async function openTorchFollowingScorer(
  config: z.input<typeof scorerSection>,
  deps: ProbeFollowDeps,
): Promise<OpenedTorchFollowingScorer> {
  const cfg = scorerSection.parse(config);
  const { log } = deps;
  const modelId = followedModelId(deps.probe);
  await requireTopic(deps.kafka, deps.topic);
  const base = await openTorchScorer(config, { logger: log, maxTokens: deps.maxTokens });
  const vocab = await vocabOf(cfg.modelDir);
  const swaps = swapsCounter('the torch service could not load it');
  const follower = new ModelFollower<TorchCheckpoint>({
    modelId,
    current: { version: base.probeModelVersion, step: await checkpointStep(cfg.modelDir) },
    // Nothing is loaded in this process: the service loads the folder on RELOAD.
    load: async (dir) => {
      const v = await vocabOf(dir);
      if (vocab !== undefined && v !== vocab) {
        throw new CheckpointError(
          TrainerReason.CHECKPOINT_LOAD_FAILED,
          `checkpoint vocabulary (${String(v)}) differs from the serving probe's (${vocab}); scores would not be comparable`,
        );
      }
      return { dir };
    },
    dispose: () => undefined,
    log,
    onEvent: (e: FollowEvent) => {
      // "applied" is counted once the service has really reloaded (onApplied below).
      if (e.kind !== 'applied') swaps.inc({ result: e.kind });
    },
  });
  const watcher = await watchFollowed(follower, deps, modelId, () => base.dispose());
  const stop = async (): Promise<void> => {
    await watcher.stop();
    await follower.close();
  };
  const scorer = new TorchFollowingScorer({
    scorer: base,
    follower,
    reload: (dir, sha256) => base.reload(dir, sha256),
    onApplied: () => swaps.inc({ result: 'applied' }),
    onRejected: (update, err) => {
      swaps.inc({ result: 'rejected' });
      log.warn(
        { version: update.version, err: errorMessage(err) },
        'model update rejected by the torch service',
      );
    },
    log,
  });
  await awaitCatchUp(watcher.caughtUp, follower, deps);
  // Nothing is scored yet: serve the newest published version now.
  await scorer.reloadIfReady();
  scorer.swapIfReady();
  log.info(
    { followModelId: modelId, topic: deps.topic, serving: scorer.probeModelVersion, backend: base.backend },
    'probe follow mode (torch): reloading verified checkpoints into the service between micro-batches',
  );
  return { scorer, swaps, readiness: () => base.notReadyReason(), stop };
}
