import { ReplaySubject, Subject, type Observable } from 'rxjs';
import type { SourceRecord } from '../operators/types.ts';
import type { LaneSink } from '../producer/types.ts';
import { InFlight, type FlowSignal } from './flow-control.ts';

export type LaneState = 'open' | 'draining' | 'closed';

export interface LaneOptions {
  readonly topic: string;
  readonly partition: number;
  /** Group generation (count of joins) this lane belongs to. */
  readonly epoch: number;
  readonly high: number;
  readonly low: number;
  /** Pause when the in-flight records' key + value bytes reach this (consumer.maxInFlightBytes). */
  readonly maxBytes?: number;
  /** See InFlight.byteFloor. */
  readonly byteFloor?: number;
  readonly sink: LaneSink;
  /** Offset the committed position says to start from; records below it are already done. */
  readonly startOffset: bigint | null;
  /** pause/resume requests for this partition. */
  readonly onFlow: (signal: Exclude<FlowSignal, null>) => void;
}

/**
 * One input partition during one group generation, like a Kafka Streams task: an ordered
 * record stream, its in-flight count, and its sink (the partition's transactional producer).
 * Lifecycle: open → draining (input completed, in-flight work may still commit) → closed.
 * Aborting stops the pipeline without committing what is left; a restart or the next owner
 * re-reads it from the committed offset.
 */
export class PartitionLane {
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
  readonly sink: LaneSink;
  readonly startOffset: bigint | null;
  private readonly input = new Subject<SourceRecord>();
  private readonly abortSignal = new ReplaySubject<string>(1);
  private readonly flow: InFlight;
  private readonly onFlow: LaneOptions['onFlow'];
  private current: LaneState = 'open';
  private abortReason: string | null = null;
  private drainTimer: NodeJS.Timeout | undefined;
  private resolveClosed: () => void = () => undefined;
  /** Resolves when the pipeline has finished and the sink is closed. */
  readonly closed: Promise<void>;

  constructor(options: LaneOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.epoch = options.epoch;
    this.sink = options.sink;
    this.startOffset = options.startOffset;
    this.flow = new InFlight(options.high, options.low, options.maxBytes, options.byteFloor);
    this.onFlow = options.onFlow;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  get key(): string {
    return `${this.topic}[${this.partition}]@${this.epoch}`;
  }

  get state(): LaneState {
    return this.current;
  }

  get inFlight(): number {
    return this.flow.count;
  }

  /** Key + value bytes of the records in flight. */
  get inFlightBytes(): number {
    return this.flow.bytes;
  }

  get aborted(): string | null {
    return this.abortReason;
  }

  /** The records of this lane, in offset order; completes when the lane drains. */
  get records$(): Observable<SourceRecord> {
    return this.input.asObservable();
  }

  /** Emits once when the lane is aborted (end the pipeline without committing more). */
  get aborted$(): Observable<string> {
    return this.abortSignal.asObservable();
  }

  /** Hands a record to the pipeline; returns 'pause' when the partition should stop fetching. */
  push(record: SourceRecord): FlowSignal {
    if (this.current !== 'open') throw new Error(`lane ${this.key} is ${this.current}`);
    const signal = this.flow.add(1, (record.value?.length ?? 0) + (record.key?.length ?? 0));
    this.input.next(record);
    return signal;
  }

  /** Records whose outputs are committed. */
  ack(records: number): void {
    const signal = this.flow.release(records);
    if (signal !== null) this.onFlow(signal);
  }

  /** Stop taking input and let in-flight work finish; abort whatever is left after `timeoutMs`. */
  drain(timeoutMs: number): void {
    if (this.current !== 'open') return;
    this.current = 'draining';
    if (this.flow.paused) this.onFlow('resume');
    this.drainTimer = setTimeout(() => this.abort(`drain timeout (${timeoutMs} ms)`), timeoutMs);
    this.input.complete();
  }

  /** Stop now: nothing more of this lane is committed. */
  abort(reason: string): void {
    if (this.current === 'closed' || this.abortReason !== null) return;
    this.abortReason = reason;
    this.sink.abort();
    if (this.current === 'open') {
      this.current = 'draining';
      if (this.flow.paused) this.onFlow('resume');
    }
    this.abortSignal.next(reason);
    this.abortSignal.complete();
  }

  /** Called once by the runtime when the lane's pipeline has ended (complete, error or abort). */
  async finish(): Promise<void> {
    if (this.current === 'closed') return this.closed;
    this.current = 'closed';
    clearTimeout(this.drainTimer);
    try {
      await this.sink.close();
    } finally {
      this.resolveClosed();
    }
  }
}
