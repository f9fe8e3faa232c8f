import type { Kafka } from 'kafkajs';
import { Counter } from 'prom-client';
import { ConfigError } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';
import { RecordCodec } from '../src/schemas/codec.ts';
import type { SchemaRegistry } from '../src/schemas/registry.ts';
import { readManifest } from '../src/trainer/checkpoint/store.ts';
import type { FollowEvent, ModelFollower } from '../src/trainer/model-updates/follower.ts';
import { watchModelUpdates, type ModelUpdateWatcher } from '../src/trainer/model-updates/watcher.ts';

/** Shared by probe.mode follow: the tfjs scorer on the main thread (probe-follow.ts), in the worker (probe-follow-worker.ts) and the torch service (probe-follow-torch.ts). */

/** The step of a prism checkpoint folder (so older updates are ignored), -1 for a plain model folder. */
export async function checkpointStep(dir: string | undefined): Promise<number> {
  if (dir === undefined) return -1;
  try {
    return (await readManifest(dir)).step;
  } catch {
    return -1;
  }
}

export async function requireTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new ConfigError(
        `topics.modelUpdates: topic "${topic}" does not exist; probe.mode "follow" reads the trainers' ModelUpdates from it (create it with "prism topics create" or start a trainer)`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}

/** probe.followModelId, required in follow mode. */
export function followedModelId(probe: { followModelId?: string }): string {
  if (probe.followModelId === undefined)
    throw new ConfigError('probe.followModelId is required when probe.mode is "follow"');
  return probe.followModelId;
}

const SWAPS_HELP =
  'probe.mode follow: ModelUpdates by result (loaded = verified and waiting for the next micro-batch, applied = serving, rejected = refused, e.g. sha256 mismatch';

/** prism_probe_swaps_total{result}, every result at 0; `rejectedAlso` adds to the help's list of refusals. */
export function swapsCounter(rejectedAlso = ''): Counter<'result'> {
  const swaps = new Counter({
    name: 'prism_probe_swaps_total',
    help: `${SWAPS_HELP}${rejectedAlso === '' ? '' : ` or ${rejectedAlso}`}; ignored = not newer)`,
    labelNames: ['result'],
    registers: [],
  });
  for (const result of ['loaded', 'applied', 'rejected', 'ignored']) swaps.inc({ result }, 0);
  return swaps;
}

/** Counts a follower event and logs an ignored update (older or equal version). */
export function countFollowEvent(swaps: Counter<'result'>, log: Logger, e: FollowEvent): void {
  swaps.inc({ result: e.kind });
  if (e.kind === 'ignored')
    log.info(
      { modelId: e.update.model_id, version: e.update.version, reason: e.reason },
      'model update ignored',
    );
}

export interface FollowWatchDeps {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly registry: SchemaRegistry;
  readonly log: Logger;
}

/** Watches topics.modelUpdates for `modelId` (Avro ModelUpdates); `onFail` frees what the caller opened. */
export async function watchFollowed<M>(
  follower: ModelFollower<M>,
  deps: FollowWatchDeps,
  modelId: string,
  onFail: () => void,
): Promise<ModelUpdateWatcher> {
  const codec = new RecordCodec('model-update', {
    format: 'avro',
    registry: deps.registry,
    topic: deps.topic,
  });
  return watchModelUpdates(follower, {
    kafka: deps.kafka,
    topic: deps.topic,
    modelId,
    decode: (v) => codec.decode(v),
    log: deps.log,
  }).catch((err: unknown) => {
    onFail();
    throw err;
  });
}

/**
 * Reads the versions already published (bounded by `catchUpTimeoutMs`, default 30 s), so the run
 * can start on the newest one; past the bound it starts on the configured model and says so.
 */
export async function awaitCatchUp(
  caughtUp: Promise<void>,
  follower: { idle(): Promise<void> },
  deps: { topic: string; log: Logger; catchUpTimeoutMs?: number },
): Promise<void> {
  const done = await Promise.race([
    caughtUp.then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), deps.catchUpTimeoutMs ?? 30_000).unref()),
  ]);
  if (done) await follower.idle();
  else
    deps.log.warn(
      { topic: deps.topic },
      'model updates not read to the end yet; starting on the configured model',
    );
}
