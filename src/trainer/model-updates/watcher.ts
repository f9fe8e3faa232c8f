import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ModelUpdate } from '../../schemas/types.ts';
import type { ModelFollower } from './follower.ts';
import { fetchEndOffsets } from '../../kafka/admin/end-offsets.ts';

export interface WatcherOptions {
  kafka: Kafka;
  /** topics.modelUpdates (compacted, key = model id). */
  topic: string;
  modelId: string;
  decode: (value: Buffer | null) => Promise<ModelUpdate>;
  log?: Logger;
}

export interface ModelUpdateWatcher {
  /** Resolves once the topic was read up to its end as of start (the newest existing update was offered). */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Feeds a ModelFollower from the model-updates topic. Reads the compacted topic from the start in a
 * throwaway consumer group (every follower needs the whole history, not a share of it), offers
 * only the newest update of the model id found while catching up (older checkpoints may be
 * pruned), then every new one as it arrives.
 */
export async function watchModelUpdates<M>(
  follower: ModelFollower<M>,
  o: WatcherOptions,
): Promise<ModelUpdateWatcher> {
  const admin = o.kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    ends = await fetchEndOffsets(admin, o.topic);
  } finally {
    await admin.disconnect();
  }
  const behind = new Set([...ends].filter(([, end]) => end > 0n).map(([p]) => p));
  let latest: ModelUpdate | null = null;
  let markCaughtUp: () => void = () => undefined;
  const caughtUp = new Promise<void>((resolve) => {
    markCaughtUp = resolve;
  });
  const finishCatchUp = (): void => {
    if (latest) follower.offer(latest);
    latest = null;
    markCaughtUp();
  };
  if (behind.size === 0) finishCatchUp();

  const consumer: Consumer = o.kafka.consumer({
    groupId: `prism-follow-${o.modelId}-${process.pid}-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
  });
  // Batches of only control records or compacted gaps still advance the position.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (behind.size === 0 || payload.topic !== o.topic) return;
    const end = ends.get(payload.partition);
    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) behind.delete(payload.partition);
    if (behind.size === 0) finishCatchUp();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const catching = behind.size > 0;
      if (message.key?.toString('utf8') === o.modelId) {
        try {
          const update = await o.decode(message.value);
          if (catching) latest = latest === null || update.step >= latest.step ? update : latest;
          else follower.offer(update);
        } catch (err) {
          o.log?.warn(
            { partition, offset: message.offset, err: errorMessage(err) },
            'undecodable ModelUpdate skipped',
          );
        }
      }
      if (catching) {
        const end = ends.get(partition);
        if (end !== undefined && BigInt(message.offset) + 1n >= end) behind.delete(partition);
        if (behind.size === 0) finishCatchUp();
      }
    },
  });
  return {
    caughtUp,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}
