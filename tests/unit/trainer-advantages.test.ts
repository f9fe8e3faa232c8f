import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GroupWindow,
  RunningBaseline,
  groupAdvantages,
  type AdvantageOptions,
} from '../../src/trainer/advantages.ts';

const opts: AdvantageOptions = {
  groupSize: 4,
  minGroupSize: 2,
  windowMs: 1000,
  maxPending: 100,
  scaleByStd: true,
  eps: 1e-6,
  baselineAlpha: 0.1,
};

describe('group-relative advantages', () => {
  it('normalise a group to mean 0 and (with std scaling) unit population std (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 2, maxLength: 16 }),
        (rewards) => {
          const adv = groupAdvantages(rewards, true, 1e-9);
          const mean = adv.reduce((a, b) => a + b, 0) / adv.length;
          expect(Math.abs(mean)).toBeLessThan(1e-6);
          const spread = Math.max(...rewards) - Math.min(...rewards);
          if (spread > 1e-3) {
            const sd = Math.sqrt(adv.reduce((a, x) => a + x * x, 0) / adv.length);
            expect(sd).toBeCloseTo(1, 3);
          }
          // Order is preserved: a higher reward never gets a lower advantage.
          for (let i = 0; i < rewards.length; i++) {
            for (let j = 0; j < rewards.length; j++) {
              if (rewards[i] > rewards[j]) expect(adv[i]).toBeGreaterThanOrEqual(adv[j]);
            }
          }
        },
      ),
    );
  });

  it('gives all-equal rewards zero advantage (no signal, as in GRPO)', () => {
    expect(groupAdvantages([1, 1, 1], true, 1e-6)).toEqual([0, 0, 0]);
  });
});

describe('GroupWindow', () => {
  it('releases a task group when it reaches groupSize, with group-normalised advantages', () => {
    const w = new GroupWindow<string>(opts);
    expect(w.push('task-a', 1, 'a1', 0)).toEqual([]);
    expect(w.push('task-b', 0, 'b1', 0)).toEqual([]);
    expect(w.push('task-a', 0, 'a2', 1)).toEqual([]);
    expect(w.push('task-a', 1, 'a3', 2)).toEqual([]);
    const out = w.push('task-a', 0, 'a4', 3);
    expect(out.map((r) => r.item)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(out.map((r) => Math.sign(r.advantage))).toEqual([1, -1, 1, -1]);
    expect(out.every((r) => r.groupSize === 4)).toBe(true);
    expect(w.pendingCount).toBe(1);
  });

  it('releases partial groups on expiry; a lone record falls back to the running baseline', () => {
    const w = new GroupWindow<string>(opts);
    w.push('warm', 2, 'w1', 0);
    w.push('warm', 2, 'w2', 0);
    w.expire(1000); // baseline now tracks reward 2
    w.push('solo', 5, 's', 2000);
    expect(w.expire(2999)).toEqual([]);
    const [r] = w.expire(3000);
    expect(r.item).toBe('s');
    expect(r.groupSize).toBe(1);
    expect(r.advantage).toBeGreaterThan(0);
  });

  it('forces out the oldest group when more than maxPending records are held', () => {
    const w = new GroupWindow<string>({ ...opts, maxPending: 2 });
    w.push('x', 1, 'x1', 0);
    w.push('y', 1, 'y1', 0);
    const out = w.push('z', 1, 'z1', 0);
    expect(out.map((r) => r.item)).toEqual(['x1']);
  });
});

describe('RunningBaseline', () => {
  it('measures a reward against the mean before it, and the first reward gets 0', () => {
    const b = new RunningBaseline(0.5);
    expect(b.advantage(3, false, 0).advantage).toBe(0);
    b.update(3);
    expect(b.advantage(5, false, 0).advantage).toBe(2);
    b.update(5);
    expect(b.state.mean).toBe(4);
  });

  it('restores from its serialized state', () => {
    const a = new RunningBaseline(0.2);
    for (const r of [1, 2, 3, 4]) a.update(r);
    const b = new RunningBaseline(0.2, a.state);
    expect(b.advantage(10, true, 1e-6)).toEqual(a.advantage(10, true, 1e-6));
  });
});
