import { Subject, firstValueFrom, lastValueFrom, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { Arbitrator } from '../../src/arbitration/arbitrator.ts';
import { medianPolicy, thresholdPolicy } from '../../src/arbitration/policy.ts';
import { PrismError } from '../../src/errors.ts';
import { arbitrate } from '../../src/operators/arbitrate.ts';
import { commit } from '../../src/operators/commit.ts';
import { route, toScoredTrajectory } from '../../src/operators/route.ts';
import { score } from '../../src/operators/score.ts';
import { SerialGate } from '../../src/operators/serial-gate.ts';
import type { Batch, DecodeResult, Outbound, ScoreResult } from '../../src/operators/types.ts';
import type { LaneSink } from '../../src/producer/types.ts';
import { FakeScorer, scores, sourceRecord, trajectory } from './operators-fixtures.ts';

const probe = { modelId: 'fake', version: '1' };
const decoded = (n: number, id = `t${n}`): DecodeResult => ({
  kind: 'decoded',
  source: sourceRecord(n),
  trajectory: trajectory(id),
});
const failedDecode = (n: number): DecodeResult => ({
  kind: 'failed',
  source: sourceRecord(n),
  stage: 'decode',
  error: new PrismError('DECODE_EMPTY', 'x'),
});
const scored = (n: number, gini: number, version = '1'): ScoreResult => ({
  kind: 'scored',
  source: sourceRecord(n),
  trajectory: trajectory(`t${n}`),
  scores: scores(gini),
  probe: { modelId: 'fake', version },
  scoredAt: 5,
});

describe('score', () => {
  it('scores only decoded records, once per batch, keeping failures in place', async () => {
    const scorer = new FakeScorer();
    const seen: number[] = [];
    const out = await firstValueFrom(
      of([decoded(10), failedDecode(11), decoded(12, 'bad12')]).pipe(
        score(scorer, { gate: new SerialGate(), now: () => 42, onScored: (n) => seen.push(n) }),
      ),
    );
    expect(scorer.calls).toEqual([2]);
    expect(seen).toEqual([2]);
    expect(out.map((r) => r.kind)).toEqual(['scored', 'failed', 'failed']);
    const [first, , last] = out;
    expect(first).toMatchObject({ kind: 'scored', probe, scoredAt: 42, scores: { gini: 0.1 } });
    expect(last).toMatchObject({ kind: 'failed', stage: 'score' });
    expect(last.kind === 'failed' && last.error.code).toBe('SCORE_TOO_LONG');
  });

  it('does not call the scorer for a batch of failures', async () => {
    const scorer = new FakeScorer();
    const out = await firstValueFrom(of([failedDecode(1)]).pipe(score(scorer, { gate: new SerialGate() })));
    expect(scorer.calls).toEqual([]);
    expect(out).toHaveLength(1);
  });

  it('errors the stream when the scorer breaks its contract', async () => {
    const scorer = new FakeScorer();
    scorer.scoreBatch = async () => [];
    await expect(
      firstValueFrom(of([decoded(1)]).pipe(score(scorer, { gate: new SerialGate() }))),
    ).rejects.toThrow(/0 outcomes for 1/);
  });

  it('runs one batch at a time on the shared gate, across lanes', async () => {
    const gate = new SerialGate();
    let running = 0;
    let maxRunning = 0;
    const slow = new FakeScorer();
    slow.scoreBatch = async (ts) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      return ts.map(() => ({ ok: true, scores: scores(0.5) }));
    };
    const lane = (n: number) =>
      lastValueFrom(of([decoded(n)], [decoded(n + 1)]).pipe(score(slow, { gate }), toArray()));
    await Promise.all([lane(0), lane(10), lane(20)]);
    expect(maxRunning).toBe(1);
  });
});

describe('arbitrate', () => {
  const ts = () => new TestScheduler((a, e) => expect(a).toEqual(e));

  it('holds batches until the window is warm, then releases them in order', () => {
    ts().run(({ cold, expectObservable }) => {
      const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 3 });
      const src = cold('a-b-c|', { a: [scored(0, 0.1)], b: [scored(1, 0.2)], c: [scored(2, 0.3)] });
      const out = src.pipe(arbitrate(arb));
      expectObservable(out.pipe(toArray())).toBe('-----(x|)', {
        x: [
          [
            expect.objectContaining({
              kind: 'decided',
              decision: expect.objectContaining({ route: 'SFT', threshold: 0.2, windowSize: 3 }),
            }),
          ],
          [expect.objectContaining({ decision: expect.objectContaining({ route: 'SFT' }) })],
          [expect.objectContaining({ decision: expect.objectContaining({ route: 'RL' }) })],
        ],
      });
    });
  });

  it('emits the held batches at the moment the third score arrives', () => {
    ts().run(({ cold, expectObservable }) => {
      const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 3 });
      const src = cold('a-b-c-----|', { a: [scored(0, 0.1)], b: [scored(1, 0.2)], c: [scored(2, 0.3)] });
      expectObservable(src.pipe(arbitrate(arb))).toBe('----(xyz)-|', {
        x: [expect.objectContaining({ source: expect.objectContaining({ offset: '0' }) })],
        y: [expect.objectContaining({ source: expect.objectContaining({ offset: '1' }) })],
        z: [expect.objectContaining({ source: expect.objectContaining({ offset: '2' }) })],
      });
    });
  });

  it('releases a held lane when another lane warms the shared window', async () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 2 });
    const laneA = new Subject<Batch<ScoreResult>>();
    const laneB = new Subject<Batch<ScoreResult>>();
    const outA: unknown[] = [];
    laneA.pipe(arbitrate(arb)).subscribe((b) => outA.push(b));
    laneB.pipe(arbitrate(arb)).subscribe();
    laneA.next([scored(0, 0.9)]);
    expect(outA).toHaveLength(0);
    laneB.next([scored(100, 0.1)]);
    expect(outA).toHaveLength(1);
  });

  it('passes failures through and dead-letters a non-finite score', async () => {
    const arb = new Arbitrator({ policy: thresholdPolicy(0.5), metric: 'gini', windowSize: 10, warmup: 1 });
    const failed = failedDecode(1) as ScoreResult;
    const out = await firstValueFrom(of([scored(0, Number.NaN), failed]).pipe(arbitrate(arb)));
    expect(out[0]).toMatchObject({ kind: 'failed', stage: 'arbitrate' });
    expect(out[0].kind === 'failed' && out[0].error.code).toBe('SCORE_NOT_FINITE');
    expect(out[1]).toBe(failed);
  });

  it('keeps a new probe version on hold until its own window is warm', () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 2 });
    const lane = new Subject<Batch<ScoreResult>>();
    const out: Batch<unknown>[] = [];
    lane.pipe(arbitrate(arb)).subscribe((b) => out.push(b));
    lane.next([scored(0, 0.1), scored(1, 0.2)]);
    expect(out).toHaveLength(1);
    lane.next([scored(2, 0.3, '2')]);
    expect(out).toHaveLength(1);
    lane.next([scored(3, 0.4, '2')]);
    expect(out).toHaveLength(3);
  });

  it('reports held records it had to drop when the lane completes cold', () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 5 });
    const dropped: number[] = [];
    const lane = new Subject<Batch<ScoreResult>>();
    const out: unknown[] = [];
    lane.pipe(arbitrate(arb, { onDropHeld: (n) => dropped.push(n) })).subscribe({ next: (b) => out.push(b) });
    lane.next([scored(0, 0.1), scored(1, 0.2)]);
    lane.complete();
    expect(out).toEqual([]);
    expect(dropped).toEqual([2]);
  });
});

describe('route', () => {
  const deadLetter = () => ({
    key: 'k',
    value: Buffer.from('raw'),
    headers: { '__streams.errors.exception': 'X' },
  });
  const encodeScored = (r: unknown) => Buffer.from(JSON.stringify(r));
  const topics = { sft: 'sft', rl: 'rl', dlq: 'dlq' };

  it('gives each record exactly one output: SFT, RL or DLQ, keyed by trajectory id', async () => {
    const arb = new Arbitrator({ policy: thresholdPolicy(0.5), metric: 'gini', windowSize: 10, warmup: 1 });
    const decided = await firstValueFrom(
      of([scored(0, 0.2), scored(1, 0.8), failedDecode(2) as ScoreResult]).pipe(arbitrate(arb)),
    );
    const out = await firstValueFrom(of(decided).pipe(route({ topics, encodeScored, deadLetter })));
    expect(out.map((o) => [o.route, o.topic, o.key])).toEqual([
      ['SFT', 'sft', 't0'],
      ['RL', 'rl', 't1'],
      ['DLQ', 'dlq', 'k'],
    ]);
    expect(out[2].reason).toBe('DECODE_EMPTY');
    expect(out[1].headers).toMatchObject({
      'prism.route': 'RL',
      'prism.metric': 'gini',
      'prism.threshold': '0.5',
      'prism.probe.version': '1',
    });
    const body = JSON.parse(String(out[1].value));
    expect(body.prism).toMatchObject({
      route: 'RL',
      metric: 'gini',
      threshold: 0.5,
      probe_model_id: 'fake',
      probe_model_version: '1',
      source_offset: '1',
      gini: 0.8,
    });
  });

  it('builds a ScoredTrajectory carrying metric, threshold, probe id and version', () => {
    const st = toScoredTrajectory({
      kind: 'decided',
      source: sourceRecord(7),
      trajectory: trajectory('x'),
      scores: scores(0.3),
      probe,
      scoredAt: 9,
      decision: { route: 'SFT', threshold: 0.4, metric: 'gini', policy: 'median', windowSize: 3 },
    });
    expect(st.prism).toMatchObject({
      metric: 'gini',
      threshold: 0.4,
      probe_model_id: 'fake',
      probe_model_version: '1',
      source_partition: 0,
      source_offset: '7',
      scored_at: 9,
    });
  });
});

describe('commit', () => {
  it('writes batches strictly one after another, in order', async () => {
    const log: string[] = [];
    const sink: LaneSink = {
      write: async (b: Batch<Outbound>) => {
        log.push(`start ${b[0].source.offset}`);
        await new Promise((r) => setTimeout(r, 2));
        log.push(`end ${b[0].source.offset}`);
      },
      abort: () => {},
      close: async () => {},
    };
    const batch = (n: number): Outbound[] => [
      { source: sourceRecord(n), route: 'SFT', topic: 's', key: null, value: null, headers: {} },
    ];
    const out = await lastValueFrom(
      of(batch(0), batch(1)).pipe(
        commit(sink, () => 1),
        toArray(),
      ),
    );
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
    expect(out.map((c) => c.committedAt)).toEqual([1, 1]);
  });
});
