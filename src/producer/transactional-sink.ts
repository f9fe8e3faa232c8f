import type { Kafka, Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Batch, Outbound } from '../operators/types.ts';
import { changelogMessages } from './changelog.ts';
import { SinkError, isBrokerUnavailableError, isFencingError } from './errors.ts';
import { MAX_SHRINK, fittedForSend, type FitReport, type OutputLimits } from './fit-send.ts';
import { isMessageTooLargeError } from './fit.ts';
import { nextOffset } from './messages.ts';
import type { LaneSink } from './types.ts';

export interface TransactionalSinkOptions {
  readonly kafka: Kafka;
  readonly transactionalId: string;
  readonly groupId: string;
  /** The input partition whose offsets this sink commits. */
  readonly topic: string;
  readonly partition: number;
  readonly transactionTimeoutMs: number;
  readonly maxAttempts: number;
  /** The group's committed offset of this partition as last applied by the coordinator (cheap). */
  readonly committedOffset: () => Promise<string | null>;
  /** The same, read with require_stable (waits out pending transactional offsets). */
  readonly stableOffset: () => Promise<string | null>;
  readonly log: Logger;
  readonly onTransaction?: (result: 'commit' | 'abort') => void;
  /** Topic limits (max.message.bytes): oversized outputs are written without payload (fit.ts). */
  readonly limits?: OutputLimits;
  /** Outputs written without their payload (metrics). */
  readonly onFitted?: (report: FitReport) => void;
}

/**
 * Exactly-once sink of one input partition: each micro-batch is one Kafka transaction holding its
 * outputs (SFT/RL/DLQ) and the input offset after its last record (sendOffsets). Offsets can
 * therefore never be committed ahead of outputs, and aborted outputs are invisible to
 * read_committed consumers.
 */
export class TransactionalLaneSink implements LaneSink {
  private producer: Producer | null = null;
  private inflight: Promise<void> = Promise.resolve();
  /** The outputs of the batch being written, as last fitted for sending. */
  private written: Batch<Outbound> = [];
  private closed = false;
  private aborted = false;

  private constructor(private readonly o: TransactionalSinkOptions) {}

  /**
   * The last sink opened per transactional.id in this process. A revoked or aborted lane's sink may
   * still be inside a retry's re-initialisation (e.g. connecting while the broker restarts); if the
   * next lane of the same partition initialised first, that late InitProducerId would bump the epoch
   * and fence the new lane, and the partition would stall with no owner writing it. So a new sink
   * waits until its predecessor has closed (its in-flight write settled) before it initialises.
   */
  private static readonly latest = new Map<string, TransactionalLaneSink>();

  /** Connects and initialises the producer id: this is the moment a zombie owner gets fenced. */
  static async open(options: TransactionalSinkOptions): Promise<TransactionalLaneSink> {
    const sink = new TransactionalLaneSink(options);
    const previous = TransactionalLaneSink.latest.get(options.transactionalId);
    TransactionalLaneSink.latest.set(options.transactionalId, sink);
    if (previous !== undefined) {
      previous.abort();
      await previous.close().catch(() => undefined);
    }
    try {
      sink.producer = await sink.connect();
    } catch (err) {
      if (TransactionalLaneSink.latest.get(options.transactionalId) === sink)
        TransactionalLaneSink.latest.delete(options.transactionalId);
      throw err;
    }
    return sink;
  }

  private async connect(): Promise<Producer> {
    const producer = this.o.kafka.producer({
      transactionalId: this.o.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.o.transactionTimeoutMs,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      // kafkajs runs InitProducerId on the first transaction(); an empty one sends no EndTxn.
      const init = await producer.transaction();
      await init.abort();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    return producer;
  }

  write(batch: Batch<Outbound>): Promise<Batch<Outbound>> {
    const run = this.inflight.then(() => this.writeWithRetry(batch));
    this.inflight = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Resolves with the outputs as the committed transaction wrote them (see LaneSink.write). */
  private async writeWithRetry(batch: Batch<Outbound>): Promise<Batch<Outbound>> {
    // Writes run one at a time: the committed attempt's fitted outputs (also when a failed-looking
    // attempt turns out to have committed and reconnect() skips the rewrite).
    this.written = batch;
    // Attempts that failed because the broker was away do not count: the broker watchdog
    // (kafka.unavailablePatienceMs) bounds that wait and aborts the lane, which ends this loop.
    let counted = 0;
    // MESSAGE_TOO_LARGE although every output was sized to fit: halve what is assumed to fit and
    // retry (bounded), so an oversized record can never block its partition for ever.
    let shrink = 0;
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (this.producer === null) await this.reconnect(batch, shrink);
        else await this.writeOnce(batch, shrink);
        return this.written;
      } catch (err) {
        if (err instanceof SinkError && err.code !== 'SINK_WRITE_FAILED') throw err;
        const tooLarge = this.o.limits !== undefined && isMessageTooLargeError(err) && shrink < MAX_SHRINK;
        if (tooLarge) shrink += 1;
        if (isFencingError(err)) {
          throw new SinkError(
            'PRODUCER_FENCED',
            `${this.o.transactionalId} was fenced: another member owns ${this.o.topic}[${this.o.partition}]`,
            { cause: err },
          );
        }
        if (!isBrokerUnavailableError(err) && !tooLarge) counted += 1;
        if (this.aborted)
          throw new SinkError('LANE_ABORTED', `lane ${this.o.topic}[${this.o.partition}] aborted`);
        if (counted >= this.o.maxAttempts || this.closed) {
          throw new SinkError(
            'SINK_WRITE_FAILED',
            `transaction of ${this.o.transactionalId} failed ${attempt} times: ${errorMessage(err)}`,
            { cause: err },
          );
        }
        this.o.log.warn(
          { transactionalId: this.o.transactionalId, attempt, shrink, err: errorMessage(err) },
          tooLarge
            ? 'broker refused a record as too large: retrying with outputs fitted to half the size'
            : 'transaction failed; re-initialising producer and retrying',
        );
        // A failed kafkajs transaction can leave its state machine unusable: start afresh (same id, new epoch).
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = null;
        await sleep(Math.min(200 * 2 ** Math.min(attempt, 5), 5000));
      }
    }
  }

  /** Fresh producer (same id, new epoch), then write the batch unless the failed attempt committed it. */
  private async reconnect(batch: Batch<Outbound>, shrink: number): Promise<void> {
    if (this.aborted || this.closed)
      throw new SinkError('LANE_ABORTED', `lane ${this.o.topic}[${this.o.partition}] aborted`);
    this.producer = await this.connect();
    // The failed attempt may have committed after all (e.g. EndTxn timed out after the
    // coordinator wrote PrepareCommit). Re-init has completed it either way, so the committed
    // offset now tells: if it already covers this batch, writing again would duplicate it.
    const committed = await this.o.stableOffset();
    if (committed !== null && BigInt(committed) >= BigInt(nextOffset(batch))) return;
    await this.writeOnce(batch, shrink);
  }

  private async writeOnce(batch: Batch<Outbound>, shrink: number): Promise<void> {
    if (this.aborted || this.closed)
      throw new SinkError('LANE_ABORTED', `lane ${this.o.topic}[${this.o.partition}] aborted`);
    const producer = this.producer;
    if (producer === null) throw new SinkError('SINK_WRITE_FAILED', 'producer is not connected');
    const chunks = fittedForSend(batch, this.o.limits, shrink, {
      log: this.o.log,
      onFitted: this.o.onFitted,
      onOutputs: (outputs) => (this.written = outputs),
    });
    const txn = await producer.transaction();
    try {
      // The window's changelog (topics.scores): committed or aborted with the outputs.
      const changelog = changelogMessages(batch);
      if (changelog.length > 0) await txn.sendBatch({ topicMessages: changelog, acks: -1 });
      for (const topicMessages of chunks) await txn.sendBatch({ topicMessages, acks: -1 });
      await txn.sendOffsets({
        consumerGroupId: this.o.groupId,
        topics: [
          { topic: this.o.topic, partitions: [{ partition: this.o.partition, offset: nextOffset(batch) }] },
        ],
      });
      if (this.aborted)
        throw new SinkError(
          'LANE_ABORTED',
          `lane ${this.o.topic}[${this.o.partition}] aborted before commit`,
        );
      await txn.commit();
      this.o.onTransaction?.('commit');
    } catch (err) {
      if (txn.isActive()) await txn.abort().catch(() => undefined);
      this.o.onTransaction?.('abort');
      throw err;
    }
    await this.awaitMaterialized(nextOffset(batch));
  }

  /**
   * Waits until the group coordinator shows the offset this transaction committed. Kafka's
   * classic group coordinator applies a transaction's offsets in a task scheduled after its
   * commit marker, and keys pending transactional offsets by producer id only: if our next
   * transaction's TxnOffsetCommit arrived before that task ran, the task would consume (or
   * prematurely apply) the new pending offset, and a crash right after could leave the committed
   * offset behind outputs that are already committed (duplicates) or ahead of aborted ones (loss).
   * Not overlapping transactions' offset commits closes that window; it costs one OffsetFetch.
   */
  private async awaitMaterialized(expected: string): Promise<void> {
    const deadline = Date.now() + this.o.transactionTimeoutMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      const committed = await this.o.committedOffset();
      if (committed !== null && BigInt(committed) >= BigInt(expected)) return;
      if (Date.now() > deadline) {
        throw new SinkError(
          'SINK_WRITE_FAILED',
          `committed offset of ${this.o.topic}[${this.o.partition}] is ${committed}, expected ${expected} after commit`,
        );
      }
      await sleep(wait);
    }
  }

  abort(): void {
    this.aborted = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inflight;
    const producer = this.producer;
    this.producer = null;
    await producer?.disconnect().catch(() => undefined);
    if (TransactionalLaneSink.latest.get(this.o.transactionalId) === this)
      TransactionalLaneSink.latest.delete(this.o.transactionalId);
  }
}
