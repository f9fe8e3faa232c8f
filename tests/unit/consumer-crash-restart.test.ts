import kafkajs, { type Consumer, type EachBatchPayload } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import type { PartitionLane } from '../../src/consumer/lane.ts';
import { PartitionFlow } from '../../src/consumer/partition-flow.ts';
import { KafkaSource } from '../../src/consumer/source.ts';
import { createLogger } from '../../src/log.ts';
import type { LaneSink } from '../../src/producer/types.ts';

type Listener = (e: { payload: Record<string, unknown> }) => void;

const NOT_RUNNING = 'Consumer group was not initialized, consumer#run must be called first';

/**
 * Behaves like kafkajs 2.2.4 around a crash: pause/resume throw KafkaJSNonRetriableError while the
 * consumer has no group (after STOP, before the restart), and the crash emits STOP then CRASH.
 */
class CrashingConsumer {
  readonly events = {
    REQUEST: 'request',
    HEARTBEAT: 'heartbeat',
    REBALANCING: 'rebalancing',
    GROUP_JOIN: 'group_join',
    CRASH: 'crash',
    STOP: 'stop',
  };
  private readonly listeners = new Map<string, Listener[]>();
  readonly paused = new Set<number>();
  hasGroup = false;
  eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  flowCalls = 0;
  runs = 0;

  on(event: string, fn: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }
  emit(event: string, payload: Record<string, unknown>): void {
    for (const fn of this.listeners.get(event) ?? []) fn({ payload });
  }
  async connect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async run(opts: { eachBatch: (p: EachBatchPayload) => Promise<void> }): Promise<void> {
    this.eachBatch = opts.eachBatch;
    this.hasGroup = true;
    this.runs += 1;
  }
  pause(tps: { partitions: number[] }[]): void {
    this.flowCalls += 1;
    if (!this.hasGroup) throw new Error(NOT_RUNNING);
    tps.forEach((tp) => tp.partitions.forEach((p) => this.paused.add(p)));
  }
  resume(tps: { partitions: number[] }[]): void {
    this.flowCalls += 1;
    if (!this.hasGroup) throw new Error(NOT_RUNNING);
    tps.forEach((tp) => tp.partitions.forEach((p) => this.paused.delete(p)));
  }
  async disconnect(): Promise<void> {}
  join(partitions: number[]): void {
    this.hasGroup = true;
    this.emit(this.events.GROUP_JOIN, { memberId: 'm', memberAssignment: { in: partitions } });
  }
  /** kafkajs onCrash: disconnect() (→ stop: group dropped, STOP) and then CRASH. */
  crash(
    restart: boolean,
    error: Error = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'),
  ): void {
    this.hasGroup = false;
    this.emit(this.events.STOP, {});
    this.emit(this.events.CRASH, { error, restart });
  }
  async deliver(partition: number, from: number, to: number): Promise<void> {
    const messages = Array.from({ length: to - from }, (_, i) => ({
      offset: String(from + i),
      key: null,
      value: Buffer.from(`v${from + i}`),
      timestamp: '1700000000000',
      headers: {},
      attributes: 0,
      size: 0,
    }));
    await this.eachBatch?.({
      batch: {
        topic: 'in',
        partition,
        highWatermark: String(to),
        messages,
        firstOffset: () => String(from),
      },
      resolveOffset: () => undefined,
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload);
  }
}

// kafkajs is CommonJS and spreads its error classes into its exports: read them off the default export.
const { KafkaJSConnectionError, KafkaJSGroupCoordinatorNotFound, KafkaJSProtocolError } = kafkajs;

const sink = (): LaneSink => ({
  write: async () => undefined,
  abort: () => undefined,
  close: async () => undefined,
});

function setup() {
  const consumer = new CrashingConsumer();
  const fatal: Error[] = [];
  let rebalances = 0;
  const source = new KafkaSource({
    consumer: consumer as unknown as Consumer,
    topic: 'in',
    fromBeginning: true,
    partitionsConsumedConcurrently: 1,
    heartbeatIntervalMs: 1000,
    highWatermark: 3,
    lowWatermark: 1,
    drainTimeoutMs: 10_000,
    brokerAwayRestartMs: 5,
    opener: { open: async () => ({ sink: sink(), committedOffset: null }) },
    log: createLogger('test', 'silent'),
    hooks: { onFatal: (e) => void fatal.push(e), onRebalance: () => void (rebalances += 1) },
  });
  const lanes: PartitionLane[] = [];
  source.lanes$.subscribe((lane) => {
    lanes.push(lane);
    lane.records$.subscribe({ complete: () => void lane.finish() });
  });
  return { consumer, source, lanes, fatal, rebalances: () => rebalances };
}

describe('KafkaSource across a kafkajs consumer crash and restart', () => {
  it('drains paused lanes of a crashed consumer without calling it, and resumes them after the rejoin', async () => {
    const { consumer, source, lanes, fatal, rebalances } = setup();
    await source.start();
    consumer.join([0, 1]);
    await consumer.deliver(0, 0, 5); // high watermark 3: partition 0 pauses
    await consumer.deliver(1, 0, 2);
    expect([...consumer.paused]).toEqual([0]);
    expect(lanes.map((l) => l.state)).toEqual(['open', 'open']);

    const callsBefore = consumer.flowCalls;
    // The crash used to throw out of lane.drain → resume (issue 19); now nothing may throw.
    expect(() => consumer.crash(true)).not.toThrow();
    expect(consumer.flowCalls, 'the dead consumer was not touched').toBe(callsBefore);
    expect(lanes.every((l) => l.state !== 'open')).toBe(true);
    expect(source.status().joined).toBe(false);
    expect(fatal).toEqual([]);
    expect(rebalances()).toBe(1);

    // Acks of the draining lane (its in-flight batch commits after the crash) must not throw either.
    expect(() => lanes[0]?.ack(3)).not.toThrow();

    // kafkajs restarts the consumer: a new generation; every assigned partition fetches again.
    consumer.join([0, 1]);
    expect(source.status()).toMatchObject({ joined: true, generation: 2, assignment: [0, 1] });
    expect([...consumer.paused]).toEqual([]);
    await consumer.deliver(0, 0, 2);
    expect(lanes.filter((l) => l.epoch === 2).map((l) => l.partition)).toEqual([0]);
  });

  it('a crash without restart is fatal when the broker refused', async () => {
    const { consumer, source, fatal } = setup();
    await source.start();
    consumer.join([0]);
    consumer.crash(false, new KafkaJSProtocolError('Not authorized to access group'));
    expect(fatal.map((e) => e.message)).toEqual(['Not authorized to access group']);
    await new Promise((r) => setTimeout(r, 30));
    expect(consumer.runs, 'never run again').toBe(1);
  });

  it('runs the consumer again when kafkajs gave up because no broker answered its coordinator lookup', async () => {
    const { consumer, source, fatal, rebalances } = setup();
    await source.start();
    consumer.join([0]);
    // kafkajs 2.2.4: findGroupCoordinator throws this non-retriable error when every broker is away.
    // (Its typings declare no constructor argument; kafkajs passes the message, as cluster/index.js does.)
    const Lookup = KafkaJSGroupCoordinatorNotFound as unknown as new (
      message: string,
    ) => Error & { retriable: boolean };
    const lookup = new Lookup('Failed to find group coordinator');
    expect(lookup.retriable, 'kafkajs itself would not restart').toBe(false);
    consumer.crash(false, lookup);
    expect(fatal).toEqual([]);
    expect(rebalances()).toBe(1);
    await vi.waitFor(() => expect(consumer.runs).toBe(2));
    consumer.join([0]);
    expect(source.status()).toMatchObject({ joined: true, generation: 2 });
  });

  it('does not run the consumer again once stopping', async () => {
    const { consumer, source, fatal } = setup();
    await source.start();
    consumer.join([0]);
    consumer.crash(false, new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'));
    await source.stop(100);
    await new Promise((r) => setTimeout(r, 30));
    expect(consumer.runs).toBe(1);
    expect(fatal).toEqual([]);
  });
});

describe('PartitionFlow', () => {
  it('drops requests while the consumer is down and never throws what kafkajs throws', () => {
    const calls: string[] = [];
    let fail = false;
    const consumer = {
      pause: () => {
        calls.push('pause');
        if (fail) throw new Error(NOT_RUNNING);
      },
      resume: () => {
        calls.push('resume');
        if (fail) throw new Error(NOT_RUNNING);
      },
    };
    const flow = new PartitionFlow(consumer, 'in', createLogger('test', 'silent'));
    expect(flow.pause([0])).toBe(false); // not running yet
    expect(calls).toEqual([]);
    flow.setLive(true);
    expect(flow.pause([0])).toBe(true);
    expect(flow.resume([])).toBe(true);
    fail = true;
    expect(flow.resume([0])).toBe(false);
    expect(calls).toEqual(['pause', 'resume']);
  });
});
