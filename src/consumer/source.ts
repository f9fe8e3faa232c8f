import type { Consumer, ConsumerRunConfig, EachBatchPayload } from 'kafkajs';
import { Subject, type Observable } from 'rxjs';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { LaneSink } from '../producer/types.ts';
import { withHeartbeat } from './heartbeat.ts';
import { PartitionLane } from './lane.ts';
import { PartitionFlow } from './partition-flow.ts';
import { ConsumerRerun } from './rerun.ts';
import { toSourceRecord } from './record.ts';

/** Opens the sink of a new lane. Exactly-once: create the partition's transactional producer
 * (its InitProducerId fences any zombie owner), THEN read the committed offset, which is final
 * once the zombie's open transaction has been completed or aborted by the coordinator. */
export interface LaneOpener {
  open(topic: string, partition: number): Promise<{ sink: LaneSink; committedOffset: string | null }>;
}

export interface SourceOptions {
  readonly consumer: Consumer;
  readonly topic: string;
  readonly fromBeginning: boolean;
  readonly partitionsConsumedConcurrently: number;
  readonly heartbeatIntervalMs: number;
  readonly highWatermark: number;
  readonly lowWatermark: number;
  /** Byte cap per partition on records in flight; default unlimited. */
  readonly maxInFlightBytes?: number;
  /** The byte cap never pauses a partition with fewer records in flight (the arbitration warm-up). */
  readonly byteFloorRecords?: number;
  readonly drainTimeoutMs: number;
  /** Wait before running a consumer again that kafkajs gave up on while no broker answered; default 1 s. */
  readonly brokerAwayRestartMs?: number;
  readonly opener: LaneOpener;
  readonly log: Logger;
  readonly hooks?: SourceHooks;
}

export interface SourceHooks {
  /** A fetched batch: for lag (high watermark) metrics. */
  onBatch?(topic: string, partition: number, highWatermark: string): void;
  onRecords?(topic: string, partition: number, count: number): void;
  onRebalance?(): void;
  /** kafkajs gave up (non-retriable crash): the process should exit non-zero. */
  onFatal?(error: Error): void;
}

export interface SourceStatus {
  readonly joined: boolean;
  readonly assignment: readonly number[];
  /** ms epoch of the last successful broker request (heartbeat, fetch, …). */
  readonly lastBrokerOkAt: number;
  readonly generation: number;
}

/**
 * A kafkajs group member as an Observable of partition lanes (Kafka Streams' tasks). The
 * eachBatch handler never waits for scoring: it hands records to their lane and returns, so
 * kafkajs keeps fetching and heartbeating between batches (also while every partition is paused:
 * an idle fetch heartbeats). Where the handler must wait (opening a lane), it heartbeats on a timer.
 *
 * kafkajs commits nothing here (autoCommit off, eachBatchAutoResolve off): resolveOffset only
 * moves the fetch position; offsets are committed by the sinks, after the outputs.
 */
export class KafkaSource {
  private readonly lanesSubject = new Subject<PartitionLane>();
  private readonly lanes = new Map<number, PartitionLane>();
  private epoch = 0;
  private joined = false;
  private assignment: number[] = [];
  private lastBrokerOkAt = 0;
  private stopping = false;
  private readonly flow: PartitionFlow;
  readonly lanes$: Observable<PartitionLane> = this.lanesSubject.asObservable();

  private readonly rerun: ConsumerRerun;

  constructor(private readonly options: SourceOptions) {
    this.flow = new PartitionFlow(options.consumer, options.topic, options.log);
    this.rerun = new ConsumerRerun({
      consumer: options.consumer,
      config: () => this.runConfig,
      delayMs: options.brokerAwayRestartMs ?? 1000,
      log: options.log,
      stopping: () => this.stopping,
      onFatal: (e) => this.options.hooks?.onFatal?.(e),
    });
  }

  status(): SourceStatus {
    return {
      joined: this.joined,
      assignment: [...this.assignment],
      lastBrokerOkAt: this.lastBrokerOkAt,
      generation: this.epoch,
    };
  }

  /** Lanes of the current generation that are still running. */
  activeLanes(): PartitionLane[] {
    return [...this.lanes.values()].filter((l) => l.state !== 'closed');
  }

  async start(): Promise<void> {
    const { consumer, topic, log } = this.options;
    const ok = (): void => {
      this.lastBrokerOkAt = Date.now();
    };
    consumer.on(consumer.events.REQUEST, ok);
    consumer.on(consumer.events.HEARTBEAT, ok);
    consumer.on(consumer.events.REBALANCING, () => {
      // Eager protocol: every partition is revoked. Drain what we hold; the zombie fence and the
      // committed-offset re-read in LaneOpener keep this safe even if a drain outlives the rebalance.
      this.joined = false;
      log.info({ lanes: this.activeLanes().map((l) => l.key) }, 'group rebalancing: draining lanes');
      this.revokeAll();
      this.options.hooks?.onRebalance?.();
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.epoch += 1;
      this.joined = true;
      this.flow.setLive(true);
      this.assignment = [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      this.revokeAll();
      // kafkajs keeps pauses across rejoins (also after a crash-restart when the broker was away):
      // a partition paused by a lane of an older generation would never be fetched again, so its
      // new lane would never open. Flow control starts afresh with each generation's lanes.
      this.flow.resume(this.assignment);
      log.info(
        { generation: this.epoch, memberId: payload.memberId, partitions: this.assignment },
        'joined group',
      );
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => this.crashed(payload.error, payload.restart));
    consumer.on(consumer.events.STOP, () => {
      this.joined = false;
      this.flow.setLive(false);
    });

    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: this.options.fromBeginning });
    await consumer.run(this.runConfig);
    this.flow.setLive(true);
  }

  private get runConfig(): ConsumerRunConfig {
    return {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    };
  }

  /**
   * kafkajs has already stopped the consumer (its group is gone until the restart): a rebalance
   * in which the old consumer must not be touched. Lanes drain (their own producers commit
   * what is in flight); the restarted consumer (by kafkajs, or by ConsumerRerun when kafkajs gave
   * up while no broker answered) joins a new generation and opens new lanes.
   */
  private crashed(error: Error, restart: boolean): void {
    const { log } = this.options;
    this.joined = false;
    this.flow.setLive(false);
    const lanes = this.activeLanes().map((l) => l.key);
    const restarts = this.rerun.offer(error, restart);
    if (restarts) {
      log.warn(
        { err: errorMessage(error), lanes, restartedBy: restart ? 'kafkajs' : 'prism' },
        'consumer crashed (broker away?): draining lanes; the consumer restarts and rejoins the group',
      );
    } else {
      log.error({ err: errorMessage(error), lanes }, 'consumer crashed and will not restart');
    }
    this.revokeAll();
    if (restarts) this.options.hooks?.onRebalance?.();
    else this.options.hooks?.onFatal?.(error);
  }

  /**
   * Graceful stop: take no more input, let every lane finish and commit (bounded by
   * `timeoutMs`, then abort), then leave the group.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const lanes = this.activeLanes();
    for (const lane of lanes) lane.drain(timeoutMs);
    await Promise.race([Promise.all(lanes.map((l) => l.closed)), delay(timeoutMs + 1000)]);
    try {
      await this.options.consumer.disconnect();
    } finally {
      this.joined = false;
      this.lanesSubject.complete();
    }
  }

  private revokeAll(): void {
    for (const lane of this.lanes.values()) {
      if (lane.epoch < this.epoch || !this.joined) lane.drain(this.options.drainTimeoutMs);
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    if (this.stopping) return;
    this.options.hooks?.onBatch?.(topic, partition, batch.highWatermark);

    let lane = this.lanes.get(partition);
    if (lane === undefined || lane.epoch !== this.epoch) {
      lane = await withHeartbeat(
        payload.heartbeat,
        this.options.heartbeatIntervalMs,
        this.openLane(topic, partition, lane),
      );
      this.options.log.info(
        {
          lane: lane.key,
          fetchedFrom: batch.firstOffset(),
          startOffset: lane.startOffset?.toString() ?? null,
        },
        'first batch of lane',
      );
    }
    if (lane.state !== 'open') {
      // Fenced or failed during this generation: stop fetching it until the next assignment.
      this.flow.pause([partition]);
      return;
    }

    let accepted = 0;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || this.stopping || lane.state !== 'open') break;
      if (lane.startOffset !== null && BigInt(message.offset) < lane.startOffset) {
        payload.resolveOffset(message.offset); // already committed by the previous owner
        continue;
      }
      const signal = lane.push(toSourceRecord(topic, partition, message));
      payload.resolveOffset(message.offset);
      accepted += 1;
      if (signal === 'pause') {
        // Unresolved records after this one are fetched again after resume: in-flight stays ≤ high.
        this.flow.pause([partition]);
        break;
      }
    }
    if (accepted > 0) this.options.hooks?.onRecords?.(topic, partition, accepted);
  }

  private async openLane(
    topic: string,
    partition: number,
    previous: PartitionLane | undefined,
  ): Promise<PartitionLane> {
    const { log } = this.options;
    if (previous !== undefined && previous.state !== 'closed') {
      previous.drain(this.options.drainTimeoutMs);
      await previous.closed;
    }
    const epoch = this.epoch;
    const { sink, committedOffset } = await this.options.opener.open(topic, partition);
    const startOffset =
      committedOffset === null || BigInt(committedOffset) < 0n ? null : BigInt(committedOffset);
    const lane = new PartitionLane({
      topic,
      partition,
      epoch,
      high: this.options.highWatermark,
      low: this.options.lowWatermark,
      maxBytes: this.options.maxInFlightBytes,
      byteFloor: this.options.byteFloorRecords,
      sink,
      startOffset,
      // Never throws: a lane drained while the consumer is down (crash-restart) only logs.
      onFlow: (signal) => {
        if (epoch !== this.epoch) return; // a lane of an older generation no longer owns the partition's flow
        if (signal === 'pause') this.flow.pause([partition]);
        else this.flow.resume([partition]);
      },
    });
    this.lanes.set(partition, lane);
    log.info({ lane: lane.key, committedOffset }, 'lane opened');
    this.lanesSubject.next(lane);
    if (epoch !== this.epoch) lane.drain(this.options.drainTimeoutMs); // revoked while opening
    return lane;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
