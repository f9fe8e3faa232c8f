import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../src/consumer/flow-control.ts';
import { PartitionLane } from '../../src/consumer/lane.ts';
import type { LaneSink } from '../../src/producer/types.ts';
import { sourceRecord } from './operators-fixtures.ts';

describe('InFlight byte cap (consumer.maxInFlightBytes)', () => {
  it('pauses when the in-flight bytes reach the cap, even far below the record watermark', () => {
    const f = new InFlight(1000, 500, 1000);
    expect(f.add(1, 400)).toBe(null);
    expect(f.add(1, 400)).toBe(null);
    expect(f.add(1, 400)).toBe('pause');
    expect(f.bytes).toBe(1200);
  });

  it('resumes only when both records ≤ low and bytes ≤ half the cap', () => {
    const f = new InFlight(10, 1, 1000);
    f.add(1, 600);
    expect(f.add(1, 600)).toBe('pause');
    expect(f.release(1)).toBe(null); // 1 record ≤ low, but 600 bytes > 500
    expect(f.release(1)).toBe('resume');
  });

  it('releases the sizes of the oldest records first', () => {
    const f = new InFlight(10, 0, 1_000_000);
    f.add(1, 10);
    f.add(1, 20);
    f.add(1, 30);
    f.release(1);
    expect(f.bytes).toBe(50);
    f.release(2);
    expect(f.bytes).toBe(0);
    expect(f.count).toBe(0);
  });

  it('never pauses on bytes below the floor (records held for the warm-up must fit)', () => {
    const f = new InFlight(100, 10, 1000, 5);
    for (let i = 0; i < 4; i++) expect(f.add(1, 10_000)).toBe(null);
    expect(f.add(1, 10_000)).toBe('pause');
  });

  it('counts bytes exactly under any interleaving of adds and in-order releases', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constant(-1)), { maxLength: 300 }),
        (ops) => {
          const f = new InFlight(50, 10, 20_000);
          const queue: number[] = [];
          for (const op of ops) {
            if (op >= 0) {
              f.add(1, op);
              queue.push(op);
            } else if (queue.length > 0) {
              f.release(1);
              queue.shift();
            }
            expect(f.count).toBe(queue.length);
            expect(f.bytes).toBe(queue.reduce((a, b) => a + b, 0));
            // Paused state is consistent with the thresholds after every step.
            if (!f.paused) expect(f.count < 50 && f.bytes < 20_000).toBe(true);
          }
        },
      ),
    );
  });
});

describe('PartitionLane byte accounting', () => {
  it('asks the consumer to pause a partition once its records in flight exceed the byte cap', () => {
    const flow: string[] = [];
    const sink: LaneSink = {
      write: async () => undefined,
      abort: () => undefined,
      close: async () => undefined,
    };
    const lane = new PartitionLane({
      topic: 't',
      partition: 0,
      epoch: 1,
      high: 1000,
      low: 10,
      maxBytes: 2048,
      sink,
      startOffset: null,
      onFlow: (s) => flow.push(s),
    });
    const big = (o: number) => ({ ...sourceRecord(o), key: null, value: Buffer.alloc(1024) });
    expect(lane.push(big(0))).toBe(null);
    expect(lane.push(big(1))).toBe('pause');
    expect(lane.inFlightBytes).toBe(2048);
    lane.ack(2);
    expect(lane.inFlightBytes).toBe(0);
    expect(flow).toEqual(['resume']);
  });
});
