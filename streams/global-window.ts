/**
 * The global arbitration window (arbitration.state kafka), like a Kafka Streams global table:
 * every instance reads the whole scores topic (read_committed, all partitions, its own private
 * group that never commits: kafkajs has no assign()), keeps the window per probe version from it,
 * and restores the last `arbitration.window` scores of the current probe version before the
 * pipeline decides anything.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Arbitrator, ProbeRef } from '../src/arbitration/arbitrator.ts';
import { windowKey } from '../src/arbitration/arbitrator.ts';
import {
  ArbitrationStateError,
  decodeScoreRecord,
  probeOf,
  type ScoreRecord,
} from '../src/arbitration/score-record.ts';
import { errorMessage } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';

export interface GlobalWindowOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topic: string;
  /** consumer.groupId of this arbitrator: only its records form the window. */
  readonly group: string;
  readonly arbitrator: Arbitrator;
  /** The probe the scorer serves now: its window is the one restored. */
  readonly current: () => ProbeRef;
  readonly windowSize: number;
  readonly restoreTimeoutMs: number;
  readonly log: Logger;
  /** A record that is not a ScoreRecord (skipped). */
  readonly onInvalid?: (err: ArbitrationStateError) => void;
}

export interface RestoreReport {
  /** Scores of the current probe version put back into its window. */
  readonly restored: number;
  /** Committed scores of this group read while restoring (all versions). */
  readonly read: number;
  readonly seconds: number;
  /** False when restoreTimeoutMs ran out before the reader reached the end of the topic. */
  readonly complete: boolean;
}

interface PartitionRange {
  readonly start: bigint;
  /** The last stable offset when the restore began: reached = the window is restored. */
  readonly end: bigint;
}

export class GlobalWindow {
  private consumer: Consumer | undefined;
  private restoring: ScoreRecord[] | null = [];
  private readonly positions = new Map<number, bigint>();
  private ranges = new Map<number, PartitionRange>();
  private caughtUp: () => void = () => undefined;
  private readonly routed = { sft: 0, rl: 0 };
  private warnedMetric = false;

  constructor(private readonly o: GlobalWindowOptions) {}

  /** Routes of every instance's committed decisions read so far (restore included). */
  routedCounts(): { readonly sft: number; readonly rl: number } {
    return { ...this.routed };
  }

  /**
   * Reads the topic from `window` records before its end on every partition, restores the current
   * probe's window, then keeps tailing the topic. Resolves once restored (or restoreTimeoutMs).
   */
  async start(): Promise<RestoreReport> {
    const t0 = process.hrtime.bigint();
    const offsets = await this.o.admin.fetchTopicOffsets(this.o.topic);
    this.ranges = new Map(
      offsets.map((p) => {
        const end = BigInt(p.high);
        const low = BigInt(p.low);
        const back = end - BigInt(this.o.windowSize);
        return [p.partition, { start: back > low ? back : low, end }];
      }),
    );
    const reached = new Promise<void>((resolve) => {
      this.caughtUp = resolve;
    });
    await this.subscribe();
    this.checkCaughtUp();
    let timer: NodeJS.Timeout | undefined;
    const complete = await Promise.race([
      reached.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.o.restoreTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const read = this.restoring?.length ?? 0;
    const restored = this.finishRestore();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const report = { restored, read, seconds, complete };
    if (complete) this.o.log.info({ topic: this.o.topic, ...report }, 'arbitration window restored');
    else
      this.o.log.warn(
        { topic: this.o.topic, ...report, restoreTimeoutMs: this.o.restoreTimeoutMs },
        'arbitration window restore timed out: deciding with what was read (warm-up hold if too few)',
      );
    return report;
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    await c
      ?.disconnect()
      .catch((err: unknown) => this.o.log.warn({ err: errorMessage(err) }, 'scores reader stop failed'));
  }

  private async subscribe(): Promise<void> {
    const consumer = this.o.kafka.consumer({
      // A private group per instance and start: every partition is ours; nothing is ever committed.
      groupId: `${this.o.group}.window.${randomUUID()}`,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const partition of payload.memberAssignment[this.o.topic] ?? []) {
        const range = this.ranges.get(partition);
        const from = this.positions.get(partition) ?? range?.start;
        if (from !== undefined) consumer.seek({ topic: this.o.topic, partition, offset: from.toString() });
      }
    });
    // Also batches of only control records / aborted records (no eachBatch call) move the position.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === this.o.topic) this.advance(payload.partition, BigInt(payload.lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts after retriable errors; otherwise the window stops seeing other instances.
      if (!payload.restart)
        this.o.log.error(
          { topic: this.o.topic, err: errorMessage(payload.error) },
          "scores reader stopped: the window now only grows with this instance's own scores",
        );
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.o.topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: (p) => this.onBatch(p) });
  }

  private async onBatch({ batch }: EachBatchPayload): Promise<void> {
    for (const m of batch.messages) {
      let record: ScoreRecord;
      try {
        record = decodeScoreRecord(m.value);
      } catch (err) {
        if (!(err instanceof ArbitrationStateError)) throw err;
        this.o.log.warn(
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            code: err.code,
            err: err.message,
          },
          'skipping a scores-topic record',
        );
        this.o.onInvalid?.(err);
        continue;
      }
      if (record.group !== this.o.group) continue;
      if (this.restoring !== null) this.restoring.push(record);
      else this.apply(record);
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last !== undefined) this.advance(batch.partition, BigInt(last.offset) + 1n);
  }

  private advance(partition: number, next: bigint): void {
    if (next > (this.positions.get(partition) ?? -1n)) this.positions.set(partition, next);
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.restoring === null) return;
    for (const [partition, range] of this.ranges) {
      if (range.end <= range.start) continue;
      if ((this.positions.get(partition) ?? range.start) < range.end) return;
    }
    this.caughtUp();
  }

  /** The current probe's last `window` scores (by scored_at) go into its window; tailing takes over. */
  private finishRestore(): number {
    const records = this.restoring ?? [];
    this.restoring = null;
    const current = windowKey(this.o.current());
    const values: number[] = [];
    const mine = records
      .filter((r) => windowKey(probeOf(r)) === current && this.usable(r))
      .sort((a, b) => a.scored_at - b.scored_at)
      .slice(-this.o.windowSize);
    for (const r of mine) values.push(r.value);
    for (const r of records) this.count(r);
    this.o.arbitrator.restore(this.o.current(), values);
    return values.length;
  }

  private apply(r: ScoreRecord): void {
    this.count(r);
    if (!this.usable(r)) return;
    this.o.arbitrator.observeCommitted(probeOf(r), r.value, {
      topic: r.source_topic,
      partition: r.source_partition,
      offset: r.source_offset,
    });
  }

  private count(r: ScoreRecord): void {
    if (r.route === 'RL') this.routed.rl += 1;
    else this.routed.sft += 1;
  }

  /** A score of another metric cannot share this window (a config change between runs). */
  private usable(r: ScoreRecord): boolean {
    if (r.metric === this.o.arbitrator.metric) return true;
    if (!this.warnedMetric) {
      this.warnedMetric = true;
      this.o.log.warn(
        { topic: this.o.topic, recordMetric: r.metric, metric: this.o.arbitrator.metric },
        'scores topic holds scores of another metric: they are left out of the window',
      );
    }
    return false;
  }
}
