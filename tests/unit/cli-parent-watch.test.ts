import { describe, expect, it } from 'vitest';
import { watchParent } from '../../src/cli/parent-watch.ts';

/** Resolves once `cond` holds, checking on every timer tick (no wall-clock budget of its own). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe('watchParent', () => {
  it('signals once when the parent id changes (re-parented orphan), naming the former parent', async () => {
    let parent = 4242;
    const orphaned: number[] = [];
    let signals = 0;
    const w = watchParent({
      intervalMs: 5,
      parentPid: () => parent,
      onOrphaned: (p) => orphaned.push(p),
      signal: () => (signals += 1),
    });
    try {
      await new Promise((r) => setTimeout(r, 30));
      expect(signals, 'same parent: nothing happens').toBe(0);
      parent = 1;
      await until(() => signals > 0);
      await new Promise((r) => setTimeout(r, 30));
      expect(signals, 'exactly one signal').toBe(1);
      expect(orphaned).toEqual([4242]);
    } finally {
      w.stop();
    }
  });

  it('does nothing after stop()', async () => {
    let parent = 10;
    let signals = 0;
    const w = watchParent({ intervalMs: 5, parentPid: () => parent, signal: () => (signals += 1) });
    w.stop();
    parent = 1;
    await new Promise((r) => setTimeout(r, 40));
    expect(signals).toBe(0);
  });
});
