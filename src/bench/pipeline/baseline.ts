import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../../log.ts';

/**
 * kafkajs initialRetryTime of the plain loop. A loop that opens its next transaction right after
 * a commit gets CONCURRENT_TRANSACTIONS on AddPartitionsToTxn while the coordinator still writes
 * the markers, and kafkajs then backs off initialRetryTime (300 ms by default, also the project's
 * DEFAULT_RETRY): the naive loop would wait ~300 ms per transaction. 25 ms is close to the Java
 * client's 20 ms retry.backoff for that error, so the denominator is a fair, tuned plain loop.
 */
export const PLAIN_LOOP_RETRY_MS = 25;

export interface PlainLoopOptions {
  kafka: Kafka;
  groupId: string;
  input: string;
  output: string;
  /** Records per transaction at most (prism's batch.size, for a like-for-like commit cadence). */
  batchSize: number;
  /** Partitions processed at once (prism: consumer.partitionsConsumedConcurrently). */
  concurrency: number;
  log: Logger;
}

export interface PlainLoop {
  stop(): Promise<void>;
}

/**
 * The denominator of the pipeline benchmark: the simplest exactly-once consume→produce loop
 * kafkajs allows. read_committed consumer; per input partition one transactional producer; for
 * every fetched batch, chunks of ≤ batchSize records are each copied unchanged (key, value) to
 * the output topic in one transaction together with the input offset (sendOffsets). No decoding,
 * scoring, routing or micro-batch timer: what is left is the cost of Kafka transactions.
 */
export async function startPlainLoop(o: PlainLoopOptions): Promise<PlainLoop> {
  const consumer: Consumer = o.kafka.consumer({
    groupId: o.groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  const producers = new Map<number, Promise<Producer>>();
  const producerFor = (partition: number): Promise<Producer> => {
    let p = producers.get(partition);
    if (p === undefined) {
      p = (async () => {
        const producer = o.kafka.producer({
          transactionalId: `${o.groupId}-${o.input}-${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
        });
        await producer.connect();
        return producer;
      })();
      producers.set(partition, p);
    }
    return p;
  };
  await consumer.connect();
  await consumer.subscribe({ topics: [o.input], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: o.concurrency,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const producer = await producerFor(batch.partition);
      for (let i = 0; i < batch.messages.length; i += o.batchSize) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(i, i + o.batchSize);
        const last = chunk[chunk.length - 1];
        const txn = await producer.transaction();
        try {
          await txn.send({
            topic: o.output,
            acks: -1,
            messages: chunk.map((m) => ({ key: m.key, value: m.value })),
          });
          await txn.sendOffsets({
            consumerGroupId: o.groupId,
            topics: [
              {
                topic: batch.topic,
                partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
              },
            ],
          });
          await txn.commit();
        } catch (err) {
          await txn.abort().catch(() => undefined);
          throw err;
        }
        resolveOffset(last.offset);
        await heartbeat();
      }
    },
  });
  o.log.info({ input: o.input, output: o.output, groupId: o.groupId }, 'plain transactional loop running');
  return {
    async stop() {
      await consumer.disconnect().catch(() => undefined);
      for (const p of producers.values()) await (await p).disconnect().catch(() => undefined);
    },
  };
}
