import type { Consumer, Producer } from 'kafkajs';
import { errorMessage } from '../errors.ts';
import type { Batch, Outbound } from '../operators/types.ts';
import { SinkError, isGenerationError } from './errors.ts';
import { nextOffset, toSendChunks } from './messages.ts';
import type { LaneSink } from './types.ts';

export interface AtLeastOnceSinkOptions {
  /** Shared idempotent producer (no transactions needed). */
  readonly producer: Producer;
  readonly consumer: Consumer;
  readonly topic: string;
  readonly partition: number;
}

/**
 * At-least-once sink for brokers without transactions: send the batch with acks=all on the
 * idempotent producer, and only then commit the input offset through the group. A crash between
 * the two re-delivers the batch (duplicates, never loss); offsets are still never ahead of outputs.
 */
export class AtLeastOnceLaneSink implements LaneSink {
  private inflight: Promise<void> = Promise.resolve();
  private aborted = false;

  constructor(private readonly o: AtLeastOnceSinkOptions) {}

  write(batch: Batch<Outbound>): Promise<void> {
    const run = this.inflight.then(() => this.writeOnce(batch));
    this.inflight = run.catch(() => undefined);
    return run;
  }

  private async writeOnce(batch: Batch<Outbound>): Promise<void> {
    if (this.aborted)
      throw new SinkError('LANE_ABORTED', `lane ${this.o.topic}[${this.o.partition}] aborted`);
    for (const topicMessages of toSendChunks(batch))
      await this.o.producer.sendBatch({ topicMessages, acks: -1 });
    try {
      await this.o.consumer.commitOffsets([
        { topic: this.o.topic, partition: this.o.partition, offset: nextOffset(batch) },
      ]);
    } catch (err) {
      // Our generation ended: the new owner re-delivers from the last commit (duplicates allowed here).
      if (isGenerationError(err))
        throw new SinkError('LANE_ABORTED', `offset commit rejected after rebalance: ${errorMessage(err)}`, {
          cause: err,
        });
      throw new SinkError('SINK_WRITE_FAILED', `offset commit failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  abort(): void {
    this.aborted = true;
  }

  async close(): Promise<void> {
    await this.inflight;
  }
}
