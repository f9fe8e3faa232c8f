import type { Consumer, EachBatchPayload } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { PartitionLane } from '../../src/consumer/lane.ts';
import { KafkaSource, type LaneOpener } from '../../src/consumer/source.ts';
import { createLogger } from '../../src/log.ts';
import type { SourceRecord } from '../../src/operators/types.ts';
import type { LaneSink } from '../../src/producer/types.ts';

type Listener = (e: { payload: Record<string, unknown> }) => void;

/** The slice of a kafkajs Consumer that KafkaSource uses, driven by the test. */
class FakeConsumer {
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
  eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  disconnected = false;

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
  }
  pause(tps: { partitions: number[] }[]): void {
    tps.forEach((tp) => tp.partitions.forEach((p) => this.paused.add(p)));
  }
  resume(tps: { partitions: number[] }[]): void {
    tps.forEach((tp) => tp.partitions.forEach((p) => this.paused.delete(p)));
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
  join(partitions: number[]): void {
    this.emit(this.events.GROUP_JOIN, { memberId: 'm', memberAssignment: { in: partitions } });
  }
  /** Delivers offsets [from, to) of a partition; returns the offsets the handler resolved. */
  async deliver(partition: number, from: number, to: number): Promise<string[]> {
    const resolved: string[] = [];
    const messages = Array.from({ length: to - from }, (_, i) => ({
      offset: String(from + i),
      key: null,
      value: Buffer.from(`v${from + i}`),
      timestamp: '1700000000000',
      headers: {},
      attributes: 0,
      size: 0,
    }));
    const payload = {
      batch: {
        topic: 'in',
        partition,
        highWatermark: String(to + 100),
        messages,
        firstOffset: () => String(from),
      },
      resolveOffset: (o: string) => void resolved.push(o),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload;
    await this.eachBatch?.(payload);
    return resolved;
  }
}

function sinkStub(): LaneSink {
  return { write: async () => undefined, abort: () => undefined, close: async () => undefined };
}

function setup(committed: string | null = null, opener?: LaneOpener) {
  const consumer = new FakeConsumer();
  const opened: number[] = [];
  const source = new KafkaSource({
    consumer: consumer as unknown as Consumer,
    topic: 'in',
    fromBeginning: true,
    partitionsConsumedConcurrently: 1,
    heartbeatIntervalMs: 1000,
    highWatermark: 5,
    lowWatermark: 2,
    drainTimeoutMs: 10_000,
    opener: opener ?? {
      open: async (_t, p) => {
        opened.push(p);
        return { sink: sinkStub(), committedOffset: committed };
      },
    },
    log: createLogger('test', 'silent'),
  });
  const lanes: PartitionLane[] = [];
  const records = new Map<string, SourceRecord[]>();
  source.lanes$.subscribe((lane) => {
    lanes.push(lane);
    records.set(lane.key, []);
    lane.records$.subscribe({
      next: (r) => records.get(lane.key)?.push(r),
      complete: () => void lane.finish(),
    });
  });
  return { consumer, source, lanes, records, opened };
}

describe('KafkaSource', () => {
  it('opens one lane per partition and hands it records in offset order', async () => {
    const { consumer, source, lanes, records } = setup();
    await source.start();
    consumer.join([0, 1]);
    expect(await consumer.deliver(0, 0, 3)).toEqual(['0', '1', '2']);
    await consumer.deliver(1, 10, 12);
    await consumer.deliver(0, 3, 4);
    expect(lanes.map((l) => l.key)).toEqual(['in[0]@1', 'in[1]@1']);
    expect(records.get('in[0]@1')?.map((r) => r.offset)).toEqual(['0', '1', '2', '3']);
    expect(source.status()).toMatchObject({ joined: true, assignment: [0, 1], generation: 1 });
  });

  it('pauses a partition at the high watermark and leaves the rest of the batch for after resume', async () => {
    const { consumer, source, lanes } = setup();
    await source.start();
    consumer.join([0]);
    const resolved = await consumer.deliver(0, 0, 8);
    expect(resolved).toEqual(['0', '1', '2', '3', '4']); // 5 = high watermark
    expect(consumer.paused.has(0)).toBe(true);
    lanes[0].ack(3); // in flight 2 = low watermark
    expect(consumer.paused.has(0)).toBe(false);
  });

  it('skips records below the committed offset read after fencing (a zombie committed them)', async () => {
    const { consumer, source, records } = setup('5');
    await source.start();
    consumer.join([0]);
    const resolved = await consumer.deliver(0, 3, 7);
    expect(resolved).toEqual(['3', '4', '5', '6']);
    expect(records.get('in[0]@1')?.map((r) => r.offset)).toEqual(['5', '6']);
  });

  it('drains the old generation on rebalance and opens the new lane only after the old one closed', async () => {
    const order: string[] = [];
    let gen = 0;
    const opener: LaneOpener = {
      open: async () => {
        gen += 1;
        order.push(`open ${gen}`);
        const n = gen;
        return {
          sink: { ...sinkStub(), close: async () => void order.push(`close ${n}`) },
          committedOffset: null,
        };
      },
    };
    const { consumer, source, lanes } = setup(null, opener);
    await source.start();
    consumer.join([0]);
    await consumer.deliver(0, 0, 2);
    consumer.emit(consumer.events.REBALANCING, {});
    expect(lanes[0].state).not.toBe('open');
    expect(source.status().joined).toBe(false);
    consumer.join([0]);
    await consumer.deliver(0, 2, 3);
    expect(order).toEqual(['open 1', 'close 1', 'open 2']);
    expect(lanes.map((l) => l.key)).toEqual(['in[0]@1', 'in[0]@2']);
  });

  it('stop drains every lane, disconnects (leaving the group) and completes lanes$', async () => {
    const { consumer, source, lanes } = setup();
    let completed = false;
    source.lanes$.subscribe({ complete: () => (completed = true) });
    await source.start();
    consumer.join([0]);
    await consumer.deliver(0, 0, 2);
    await source.stop(1000);
    expect(lanes[0].state).toBe('closed');
    expect(consumer.disconnected).toBe(true);
    expect(completed).toBe(true);
    expect(await consumer.deliver(0, 2, 3)).toEqual([]); // nothing taken after stop
  });
});
