import { afterEach, describe, expect, it, vi } from 'vitest';
import { InFlight } from '../../src/consumer/flow-control.ts';
import { withHeartbeat } from '../../src/consumer/heartbeat.ts';
import { PartitionLane } from '../../src/consumer/lane.ts';
import { readinessOf } from '../../src/consumer/readiness.ts';
import type { SourceRecord } from '../../src/operators/types.ts';
import type { LaneSink } from '../../src/producer/types.ts';
import { sourceRecord } from './operators-fixtures.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('InFlight watermarks', () => {
  it('asks for a pause once at the high watermark and a resume once at the low one', () => {
    const f = new InFlight(4, 1);
    expect([f.add(1), f.add(2)]).toEqual([null, null]);
    expect(f.add(1)).toBe('pause');
    expect(f.add(3)).toBe(null); // already paused
    expect(f.release(5)).toBe(null); // 2 left, still above low
    expect(f.release(1)).toBe('resume');
    expect(f.release(1)).toBe(null);
    expect(f.count).toBe(0);
  });

  it('rejects watermarks that cannot resume', () => {
    expect(() => new InFlight(2, 2)).toThrow(RangeError);
  });
});

describe('withHeartbeat', () => {
  it('heartbeats on a timer while the work is pending and stops afterwards', async () => {
    vi.useFakeTimers();
    const beats: number[] = [];
    let finish: (v: string) => void = () => undefined;
    const work = new Promise<string>((r) => {
      finish = r;
    });
    const result = withHeartbeat(async () => void beats.push(Date.now()), 1000, work);
    await vi.advanceTimersByTimeAsync(3500);
    expect(beats).toHaveLength(3);
    finish('done');
    await expect(result).resolves.toBe('done');
    await vi.advanceTimersByTimeAsync(5000);
    expect(beats).toHaveLength(3);
  });

  it('rethrows a failed heartbeat (rebalance) once the work settles', async () => {
    vi.useFakeTimers();
    const rebalance = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    const work = new Promise<void>((r) => setTimeout(r, 2500));
    const result = withHeartbeat(() => Promise.reject(rebalance), 1000, work);
    const settled = expect(result).rejects.toBe(rebalance);
    await vi.advanceTimersByTimeAsync(3000);
    await settled;
  });
});

function fakeSink(): LaneSink & { aborted: boolean; closed: number } {
  return {
    aborted: false,
    closed: 0,
    write: async () => undefined,
    abort() {
      this.aborted = true;
    },
    async close() {
      this.closed += 1;
    },
  };
}

function lane(sink = fakeSink(), flow: string[] = []): PartitionLane {
  return new PartitionLane({
    topic: 't',
    partition: 0,
    epoch: 1,
    high: 3,
    low: 1,
    sink,
    startOffset: null,
    onFlow: (s) => flow.push(s),
  });
}

describe('PartitionLane', () => {
  it('streams pushed records in order and signals pause/resume through ack', () => {
    const flow: string[] = [];
    const l = lane(fakeSink(), flow);
    const seen: SourceRecord[] = [];
    l.records$.subscribe((r) => seen.push(r));
    expect(l.push(sourceRecord(0))).toBe(null);
    expect(l.push(sourceRecord(1))).toBe(null);
    expect(l.push(sourceRecord(2))).toBe('pause');
    expect(seen.map((r) => r.offset)).toEqual(['0', '1', '2']);
    l.ack(2);
    expect(flow).toEqual(['resume']);
    expect(l.inFlight).toBe(1);
  });

  it('drain completes the input and resumes a paused partition; abort fires after the drain timeout', () => {
    vi.useFakeTimers();
    const flow: string[] = [];
    const sink = fakeSink();
    const l = lane(sink, flow);
    let completed = false;
    const aborts: string[] = [];
    l.records$.subscribe({ complete: () => (completed = true) });
    l.aborted$.subscribe((r) => aborts.push(r));
    [0, 1, 2].forEach((i) => l.push(sourceRecord(i)));
    l.drain(1000);
    expect(completed).toBe(true);
    expect(l.state).toBe('draining');
    expect(flow).toEqual(['resume']);
    expect(() => l.push(sourceRecord(3))).toThrow(/draining/);
    vi.advanceTimersByTime(1000);
    expect(aborts).toEqual(['drain timeout (1000 ms)']);
    expect(sink.aborted).toBe(true);
  });

  it('finish closes the sink once and resolves closed', async () => {
    const sink = fakeSink();
    const l = lane(sink);
    await l.finish();
    await l.finish();
    await l.closed;
    expect(sink.closed).toBe(1);
    expect(l.state).toBe('closed');
  });
});

describe('readiness', () => {
  const joined = { joined: true, assignment: [0], lastBrokerOkAt: 1000, generation: 1 };

  it('is ready when joined and the broker answered recently', () => {
    expect(readinessOf(joined, 2000, 5000, false)).toMatchObject({ ready: true, reasons: [] });
  });

  it('is not ready while not joined, while the broker is silent, or while stopping', () => {
    expect(readinessOf({ ...joined, joined: false }, 2000, 5000, false).reasons).toEqual([
      expect.stringMatching(/not joined/),
    ]);
    expect(readinessOf(joined, 10_000, 5000, false).reasons).toEqual([
      expect.stringMatching(/broker unreachable for 9 s/),
    ]);
    expect(readinessOf({ ...joined, lastBrokerOkAt: 0 }, 10, 5000, false).ready).toBe(false);
    expect(readinessOf(joined, 2000, 5000, true).reasons).toEqual(['shutting down']);
  });
});
