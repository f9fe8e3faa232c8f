import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Arbitrator, windowKey, type ProbeRef } from '../../src/arbitration/arbitrator.ts';
import { medianPolicy, quantilePolicy, routeFor, thresholdPolicy } from '../../src/arbitration/policy.ts';
import { SlidingQuantile } from '../../src/arbitration/sliding-quantile.ts';

const v1: ProbeRef = { modelId: 'probe', version: '1' };
const v2: ProbeRef = { modelId: 'probe', version: '2' };

/** A deterministic uniform stream in [0, 1) (xorshift), so shares are reproducible. */
function uniformStream(n: number, seed = 7): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  });
}

function rlShare(arb: Arbitrator, values: number[]): number {
  let rl = 0;
  let decided = 0;
  for (const v of values) {
    if (arb.isWarm(v1)) {
      decided += 1;
      if (arb.decide(v1, v).route === 'RL') rl += 1;
    }
    arb.observe(v1, v);
  }
  return rl / decided;
}

describe('routing rule', () => {
  it('sends ties to SFT and only strictly larger scores to RL', () => {
    expect(routeFor(0.5, 0.5)).toBe('SFT');
    expect(routeFor(0.5000001, 0.5)).toBe('RL');
    expect(routeFor(0.1, 0.5)).toBe('SFT');
  });

  it('median policy thresholds at the window median', () => {
    const w = new SlidingQuantile(5);
    [1, 2, 3, 4, 5].forEach((v) => w.push(v));
    expect(medianPolicy().threshold(w)).toBe(3);
    expect(medianPolicy().targetRlShare).toBe(0.5);
  });

  it('quantile policy targets an RL share of 1 - q', () => {
    expect(quantilePolicy(0.7).targetRlShare).toBeCloseTo(0.3);
    expect(() => quantilePolicy(1)).toThrow();
  });

  it('threshold policy ignores the window and needs no warm-up', () => {
    const arb = new Arbitrator({ policy: thresholdPolicy(0.3), metric: 'cv', windowSize: 10, warmup: 5 });
    expect(arb.isWarm(v1)).toBe(true);
    expect(arb.decide(v1, 0.31)).toMatchObject({
      route: 'RL',
      threshold: 0.3,
      metric: 'cv',
      policy: 'threshold',
      windowSize: 0,
    });
  });
});

describe('Arbitrator', () => {
  it('makes no decision until warm-up scores are seen, then announces the window once', () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 3 });
    const warmed: string[] = [];
    arb.warm$.subscribe((k) => warmed.push(k));
    arb.observe(v1, 0.1);
    arb.observe(v1, 0.2);
    expect(arb.isWarm(v1)).toBe(false);
    expect(() => arb.decide(v1, 0.5)).toThrow(/warming up/);
    arb.observe(v1, 0.3);
    arb.observe(v1, 0.4);
    expect(arb.isWarm(v1)).toBe(true);
    expect(warmed).toEqual([windowKey(v1)]);
    expect(arb.decide(v1, 0.26)).toMatchObject({
      route: 'RL',
      threshold: 0.25,
      windowSize: 4,
      metric: 'gini',
      policy: 'median',
    });
  });

  it('starts a new window (and a new warm-up) for a new probe model version', () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 2 });
    [0.9, 0.8].forEach((v) => arb.observe(v1, v));
    expect(arb.isWarm(v1)).toBe(true);
    expect(arb.isWarm(v2)).toBe(false);
    [0.1, 0.2].forEach((v) => arb.observe(v2, v));
    expect(arb.decide(v2, 0.16).threshold).toBeCloseTo(0.15);
    expect(arb.decide(v1, 0.16).threshold).toBeCloseTo(0.85);
  });

  it('is warm at once when seeded, versioned seeds only for their own version', () => {
    const seeds = { unversioned: [1, 2, 3], byWindow: new Map([[windowKey(v2), [10, 20, 30]]]) };
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 3, seeds });
    expect(arb.decide(v1, 2).threshold).toBe(2);
    expect(arb.decide(v2, 2).threshold).toBe(20);
    // unversioned seeds are used by the first window only
    const v3: ProbeRef = { modelId: 'probe', version: '3' };
    expect(arb.isWarm(v3)).toBe(false);
  });

  it('realises an RL share close to 1 - q on a stationary stream (median and quantile)', () => {
    const values = uniformStream(20_000);
    const median = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 1024, warmup: 256 });
    expect(rlShare(median, values)).toBeGreaterThan(0.47);
    expect(rlShare(median, values)).toBeLessThan(0.53);
    const q7 = new Arbitrator({ policy: quantilePolicy(0.7), metric: 'gini', windowSize: 1024, warmup: 256 });
    const share = rlShare(q7, values);
    expect(share).toBeGreaterThan(0.27);
    expect(share).toBeLessThan(0.33);
  });

  it('never routes a score at or below the threshold it reports to RL (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 200 }),
        (values) => {
          const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 16, warmup: 4 });
          for (const v of values) {
            if (arb.isWarm(v1)) {
              const d = arb.decide(v1, v);
              expect(d.route === 'RL').toBe(v > d.threshold);
            }
            arb.observe(v1, v);
          }
        },
      ),
    );
  });

  it('reports per-window snapshots for metrics', () => {
    const arb = new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 10, warmup: 2 });
    arb.observe(v1, 1);
    expect(arb.snapshot()).toEqual([{ probe: v1, size: 1, warm: false, threshold: 1 }]);
  });
});
