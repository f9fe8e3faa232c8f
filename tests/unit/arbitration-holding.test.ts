import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Arbitrator } from '../../src/arbitration/arbitrator.ts';
import { WarmupHolds, holdingMessage, type HoldingEvent } from '../../src/arbitration/holding.ts';
import { medianPolicy, thresholdPolicy } from '../../src/arbitration/policy.ts';
import { arbitrate } from '../../src/operators/arbitrate.ts';
import type { Batch, ScoreResult } from '../../src/operators/types.ts';
import { scores, sourceRecord, trajectory } from './operators-fixtures.ts';

const scored = (n: number, gini: number, version = '1'): ScoreResult => ({
  kind: 'scored',
  source: sourceRecord(n),
  trajectory: trajectory(`t${n}`),
  scores: scores(gini),
  probe: { modelId: 'fake', version },
  scoredAt: 5,
});
const batchOf = (from: number, n: number): Batch<ScoreResult> =>
  Array.from({ length: n }, (_, i) => scored(from + i, (from + i) / 1000));

describe('WarmupHolds', () => {
  it('sums the lanes and says what it waits for', () => {
    let t = 1000;
    const h = new WarmupHolds(256, { now: () => t, waitingEveryMs: 5000 });
    const events: HoldingEvent[] = [];
    h.onEvent((e) => events.push(e));
    expect(h.snapshot()).toMatchObject({ holding: false, records: 0, message: null, since: null });

    h.set('a', 64, 64);
    expect(events.map((e) => e.kind)).toEqual(['start']);
    expect(events[0].message).toBe('holding 64 records until the window has 256 scores (64 so far)');
    t = 2000;
    h.set('b', 36, 100); // grows within 5 s: no extra event
    expect(events).toHaveLength(1);
    expect(h.snapshot()).toMatchObject({
      holding: true,
      records: 100,
      windowScores: 100,
      warmup: 256,
      since: 1000,
      message: 'holding 100 records until the window has 256 scores (100 so far)',
    });
    t = 7000;
    h.set('a', 128, 164);
    expect(events.map((e) => e.kind)).toEqual(['start', 'waiting']);
    expect(events[1].records).toBe(164);

    h.set('a', 0, 256);
    expect(events).toHaveLength(2); // lane b still holds
    t = 9000;
    h.set('b', 0, 256);
    expect(events[2]).toMatchObject({ kind: 'released', records: 164, heldMs: 8000 });
    expect(events[2].message).toMatch(/window warm \(256 scores\): .*up to 164 were waiting/);
    expect(h.snapshot().holding).toBe(false);
  });

  it('says so when a lane closes with records still held', () => {
    const h = new WarmupHolds(10);
    const events: HoldingEvent[] = [];
    h.onEvent((e) => events.push(e));
    h.set('a', 3, 3);
    h.set('a', 0, 3, true);
    expect(events[1].kind).toBe('released');
    expect(events[1].message).toMatch(/3 held records were left uncommitted/);
  });

  it('writes one record in the singular', () => {
    expect(holdingMessage(1, 0, 8)).toBe('holding 1 record until the window has 8 scores (0 so far)');
  });
});

describe('arbitrate → arbitrator.holds', () => {
  it('reports the held records of every lane until the window warms, then none', () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 512, warmup: 256 });
    const events: HoldingEvent[] = [];
    arb.holds.onEvent((e) => events.push(e));
    const laneA = new Subject<Batch<ScoreResult>>();
    const laneB = new Subject<Batch<ScoreResult>>();
    const outA: unknown[] = [];
    laneA.pipe(arbitrate(arb)).subscribe((b) => outA.push(b));
    laneB.pipe(arbitrate(arb)).subscribe();

    laneA.next(batchOf(0, 64));
    laneB.next(batchOf(1000, 36));
    expect(events[0]).toMatchObject({ kind: 'start', records: 64, windowScores: 64 });
    expect(arb.holds.snapshot()).toMatchObject({
      holding: true,
      records: 100,
      windowScores: 100,
      message: 'holding 100 records until the window has 256 scores (100 so far)',
    });
    expect(outA).toHaveLength(0);

    laneA.next(batchOf(64, 156)); // 64 + 36 + 156 = 256 scores: warm
    expect(outA).toHaveLength(2);
    expect(arb.holds.snapshot()).toMatchObject({ holding: false, records: 0, message: null });
    expect(events.at(-1)).toMatchObject({ kind: 'released', records: 100, windowScores: 256 });
    expect(events.at(-1)?.message).toBe(
      'window warm (256 scores): held records released for routing (up to 100 were waiting)',
    );
  });

  it('stops counting a lane that completes or is unsubscribed while holding', () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 100, warmup: 50 });
    const laneA = new Subject<Batch<ScoreResult>>();
    const laneB = new Subject<Batch<ScoreResult>>();
    laneA.pipe(arbitrate(arb)).subscribe();
    const subB = laneB.pipe(arbitrate(arb)).subscribe();
    laneA.next(batchOf(0, 5));
    laneB.next(batchOf(100, 7));
    expect(arb.holds.snapshot().records).toBe(12);
    laneA.complete();
    expect(arb.holds.snapshot().records).toBe(7);
    subB.unsubscribe();
    expect(arb.holds.snapshot()).toMatchObject({ holding: false, records: 0 });
  });

  it('never holds with a fixed threshold', () => {
    const arb = new Arbitrator({ policy: thresholdPolicy(0.5), metric: 'gini', windowSize: 10, warmup: 5 });
    const lane = new Subject<Batch<ScoreResult>>();
    const out: unknown[] = [];
    lane.pipe(arbitrate(arb)).subscribe((b) => out.push(b));
    lane.next(batchOf(0, 3));
    expect(out).toHaveLength(1);
    expect(arb.holds.snapshot().holding).toBe(false);
  });
});
