import type { Kafka } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import { RecordCodec } from '../../schemas/codec.ts';
import type { Logger } from '../../log.ts';
import type { LlamaModel } from '../../model/llama.ts';
import { loadModel } from '../../model-store/llama.ts';
import { CheckpointError, TrainerReason } from '../errors.ts';
import { ModelFollower, type FollowEvent } from './follower.ts';
import { watchModelUpdates, type ModelUpdateWatcher } from './watcher.ts';

export { ModelFollower, type FollowEvent, type ModelSwap, type FollowerOptions } from './follower.ts';
export { watchModelUpdates, type ModelUpdateWatcher, type WatcherOptions } from './watcher.ts';

export interface ProbeFollowOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  /** topics.modelUpdates */
  topic: string;
  /** The trainer's model id to follow (trainer.sft.modelId or trainer.rl.modelId). */
  modelId: string;
  /** The frozen model serving at start. */
  serving: LlamaModel;
  /** Its version label and step (-1 for a base model that no trainer produced). */
  current: { version: string; step: number };
  log?: Logger;
  /** Where to count prism_probe_model_updates_total{result}. */
  metrics?: Registry;
  onEvent?: (e: FollowEvent) => void;
}

export interface ProbeFollow {
  follower: ModelFollower<LlamaModel>;
  watcher: ModelUpdateWatcher;
  stop(): Promise<void>;
}

/**
 * `probe.mode: follow` for the arbitrator: watches topics.modelUpdates for one model id,
 * verifies and loads new checkpoints in the background. Between micro-batches the arbitrator calls
 * `follower.takeSwap()`; on a non-null result it builds its scorer on `swap.model`, disposes the
 * old model, and opens a new arbitration window for `swap.update.version`.
 */
export async function startProbeFollow(o: ProbeFollowOptions): Promise<ProbeFollow> {
  const counter = o.metrics
    ? new Counter({
        name: 'prism_probe_model_updates_total',
        help: 'ModelUpdates seen by the follow-mode probe, by result (loaded, applied, rejected, ignored).',
        labelNames: ['result'],
        registers: [o.metrics],
      })
    : undefined;
  const codec = new RecordCodec('model-update', { format: 'avro', registry: o.registry, topic: o.topic });
  const servingConfig = o.serving.config;
  const follower = new ModelFollower<LlamaModel>({
    modelId: o.modelId,
    current: o.current,
    load: loadModel,
    dispose: (m) => m.dispose(),
    accept: (m) => {
      const c = m.config;
      const same =
        c.vocab_size === servingConfig.vocab_size &&
        c.num_hidden_layers === servingConfig.num_hidden_layers &&
        c.hidden_size === servingConfig.hidden_size &&
        c.model_type === servingConfig.model_type;
      if (!same) {
        throw new CheckpointError(
          TrainerReason.CHECKPOINT_LOAD_FAILED,
          `checkpoint architecture (${c.model_type}, ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, vocab ${c.vocab_size}) differs from the serving probe's; scores would not be comparable`,
        );
      }
    },
    log: o.log,
    onEvent: (e) => {
      counter?.inc({ result: e.kind });
      o.onEvent?.(e);
    },
  });
  const watcher = await watchModelUpdates(follower, {
    kafka: o.kafka,
    topic: o.topic,
    modelId: o.modelId,
    decode: (v) => codec.decode(v),
    log: o.log,
  });
  return {
    follower,
    watcher,
    stop: async () => {
      await watcher.stop();
      await follower.close();
    },
  };
}
export { FollowingScorer, type FollowingScorerOptions, type VersionChange } from './following-scorer.ts';
