import { describe, expect, it } from 'vitest';
import { Arbitrator, type ProbeRef } from '../../src/arbitration/arbitrator.ts';
import { medianPolicy } from '../../src/arbitration/policy.ts';
import {
  decodeScoreRecord,
  encodeScoreRecord,
  scoreRecordKey,
  type ScoreRecord,
} from '../../src/arbitration/score-record.ts';

const v1: ProbeRef = { modelId: 'probe', version: '1' };
const src = (offset: number, partition = 0) => ({ topic: 'in', partition, offset: String(offset) });

function shared(opts: { warmup?: number; window?: number; seeds?: number[] } = {}): Arbitrator {
  return new Arbitrator({
    policy: medianPolicy(),
    metric: 'gini',
    windowSize: opts.window ?? 100,
    warmup: opts.warmup ?? 3,
    shared: true,
    seeds: opts.seeds && { byWindow: new Map(), unversioned: opts.seeds },
  });
}

const size = (a: Arbitrator) => a.snapshot()[0]?.size ?? 0;

describe('shared (kafka) window', () => {
  it('counts a score once: local observation, retry of the same record, and its committed copy', () => {
    const a = shared();
    a.observe(v1, 0.5, src(1));
    a.observe(v1, 0.5, src(1)); // the batch retried after an aborted transaction
    expect(size(a)).toBe(1);
    a.observeCommitted(v1, 0.5, src(1)); // read back from the scores topic
    expect(size(a)).toBe(1);
    a.observeCommitted(v1, 0.7, src(2)); // another instance's committed score
    expect(size(a)).toBe(2);
  });

  it('routes on every instance the same once both read the same committed scores', () => {
    const a = shared();
    const b = shared();
    const scores = [0.1, 0.9, 0.4, 0.6, 0.3];
    // a scored the even offsets, b the odd ones; each reads the other's back from the topic.
    scores.forEach((v, i) => (i % 2 === 0 ? a : b).observe(v1, v, src(i)));
    scores.forEach((v, i) => {
      a.observeCommitted(v1, v, src(i));
      b.observeCommitted(v1, v, src(i));
    });
    expect(size(a)).toBe(5);
    expect(a.decide(v1, 0.45).threshold).toBe(b.decide(v1, 0.45).threshold);
    expect(a.decide(v1, 0.45).threshold).toBe(0.4);
  });

  it('restore: a topic with at least warm-up scores makes the window warm at once, without seeds', () => {
    const a = shared({ warmup: 3, seeds: [100, 100, 100, 100] });
    a.restore(v1, [0.1, 0.2, 0.3]);
    expect(a.isWarm(v1)).toBe(true);
    expect(size(a)).toBe(3);
    expect(a.decide(v1, 0.25).threshold).toBe(0.2);
  });

  it('restore: too few scores in the topic → calibration seeds go in first', () => {
    const a = shared({ warmup: 3, seeds: [5, 5, 5] });
    a.restore(v1, [0.1]);
    expect(size(a)).toBe(4);
    expect(a.isWarm(v1)).toBe(true);
  });

  it('restore of an empty topic without seeds leaves the window cold (warm-up hold)', () => {
    const a = shared({ warmup: 3 });
    a.restore(v1, []);
    expect(a.isWarm(v1)).toBe(false);
  });
});

describe('score record', () => {
  const record: ScoreRecord = {
    v: 1,
    group: 'g',
    trajectory_id: 't-1',
    probe_model_id: 'probe',
    probe_model_version: '1',
    metric: 'gini',
    value: 0.42,
    scores: { gini: 0.42, kurtosis: 3, cv: 1.1, l2: 9 },
    route: 'RL',
    threshold: 0.4,
    source_topic: 'in',
    source_partition: 2,
    source_offset: '17',
    scored_at: 1_700_000_000_000,
  };

  it('round-trips and keys by input partition', () => {
    expect(decodeScoreRecord(encodeScoreRecord(record))).toEqual(record);
    expect(scoreRecordKey(record)).toBe('in/2');
  });

  it('rejects foreign records with a typed, stable code', () => {
    expect(() => decodeScoreRecord(Buffer.from('nope'))).toThrow(
      expect.objectContaining({ code: 'SCORE_RECORD_INVALID' }),
    );
    expect(() => decodeScoreRecord(Buffer.from(JSON.stringify({ ...record, value: 'x' })))).toThrow(/value/);
    expect(() => decodeScoreRecord(null)).toThrow(expect.objectContaining({ code: 'SCORE_RECORD_INVALID' }));
  });
});
