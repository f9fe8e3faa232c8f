import type { Consumer, Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Batch, Outbound } from '../operators/types.ts';
import { changelogMessages } from './changelog.ts';
import { SinkError, isBrokerUnavailableError, isGenerationError } from './errors.ts';
import { MAX_SHRINK, fittedForSend, type FitReport, type OutputLimits } from './fit-send.ts';
import { isMessageTooLargeError } from './fit.ts';
import { nextOffset } from './messages.ts';
import type { LaneSink } from './types.ts';

export interface AtLeastOnceSinkOptions {
  /** Shared idempotent producer (no transactions needed). */
  readonly producer: Producer;
  readonly consumer: Consumer;
  readonly topic: string;
  readonly partition: number;
  /** Topic limits (max.message.bytes): oversized outputs are written without payload (fit.ts). */
  readonly limits?: OutputLimits;
  readonly log?: Logger;
  readonly onFitted?: (report: FitReport) => void;
}

/** kafkajs throws this from commitOffsets while its consumer is down (crashed, restarting). */
const CONSUMER_NOT_RUNNING = /consumer group was not initialized|consumer#run must be called first/i;

/**
 * At-least-once sink for brokers without transactions: send the batch with acks=all on the
 * idempotent producer, and only then commit the input offset through the group. A crash between
 * the two re-delivers the batch (duplicates, never loss); offsets are still never ahead of outputs.
 * Sends that fail because the broker is away are retried until the lane is aborted (the broker
 * watchdog bounds the wait); a commit that fails because the generation (or the consumer) is gone
 * ends the lane: the next owner re-delivers from the last commit.
 */
export class AtLeastOnceLaneSink implements LaneSink {
  private inflight: Promise<void> = Promise.resolve();
  private aborted = false;

  constructor(private readonly o: AtLeastOnceSinkOptions) {}

  write(batch: Batch<Outbound>): Promise<Batch<Outbound>> {
    const run = this.inflight.then(() => this.writeOnce(batch));
    this.inflight = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async writeOnce(batch: Batch<Outbound>): Promise<Batch<Outbound>> {
    const written = await this.send(batch);
    try {
      await this.o.consumer.commitOffsets([
        { topic: this.o.topic, partition: this.o.partition, offset: nextOffset(batch) },
      ]);
    } catch (err) {
      // Our generation ended (or the consumer crashed, or the broker went away): the next owner
      // re-delivers from the last commit (duplicates are allowed here).
      if (
        isGenerationError(err) ||
        isBrokerUnavailableError(err) ||
        CONSUMER_NOT_RUNNING.test(errorMessage(err))
      )
        throw new SinkError('LANE_ABORTED', `offset commit not possible now: ${errorMessage(err)}`, {
          cause: err,
        });
      throw new SinkError('SINK_WRITE_FAILED', `offset commit failed: ${errorMessage(err)}`, { cause: err });
    }
    return written;
  }

  /** Sends the batch; resolves with the outputs as sent (see LaneSink.write). */
  private async send(batch: Batch<Outbound>): Promise<Batch<Outbound>> {
    const log = this.o.log;
    let written = batch;
    let shrink = 0;
    for (let attempt = 1; ; attempt += 1) {
      if (this.aborted)
        throw new SinkError('LANE_ABORTED', `lane ${this.o.topic}[${this.o.partition}] aborted`);
      try {
        const chunks = fittedForSend(batch, this.o.limits, shrink, {
          log,
          onFitted: this.o.onFitted,
          onOutputs: (outputs) => (written = outputs),
        });
        for (const topicMessages of chunks) await this.o.producer.sendBatch({ topicMessages, acks: -1 });
        // The window's changelog (topics.scores), before the offset: at least once, like the outputs.
        const changelog = changelogMessages(batch);
        if (changelog.length > 0) await this.o.producer.sendBatch({ topicMessages: changelog, acks: -1 });
        return written;
      } catch (err) {
        const tooLarge = this.o.limits !== undefined && isMessageTooLargeError(err) && shrink < MAX_SHRINK;
        if (!tooLarge && !isBrokerUnavailableError(err)) throw err;
        if (tooLarge) shrink += 1;
        log?.warn({ attempt, shrink, err: errorMessage(err) }, 'send failed; retrying');
        if (!tooLarge) await sleep(Math.min(200 * 2 ** Math.min(attempt, 5), 5000));
      }
    }
  }

  abort(): void {
    this.aborted = true;
  }

  async close(): Promise<void> {
    await this.inflight;
  }
}
