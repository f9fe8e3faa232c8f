import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetLedger, PartitionProgress } from '../../src/trainer/offsets.ts';

describe('PartitionProgress', () => {
  it('holds the watermark at the oldest unfinished record and lists finished ones above it', () => {
    const p = new PartitionProgress(10n);
    for (const o of [10n, 11n, 12n, 13n]) expect(p.deliver(o)).toBe(true);
    p.complete(10n);
    p.complete(12n);
    p.complete(13n);
    expect(p.watermark).toBe(11n);
    expect(p.doneAboveWatermark()).toEqual([12n, 13n]);
    p.complete(11n);
    expect(p.watermark).toBe(14n);
    expect(p.doneAboveWatermark()).toEqual([]);
  });

  it('advances over offset gaps left by compaction or transaction markers', () => {
    const p = new PartitionProgress(0n);
    p.deliver(0n);
    p.deliver(5n);
    p.complete(0n);
    p.complete(5n);
    expect(p.watermark).toBe(6n);
  });

  it('skips records below the watermark and restored done records on resume', () => {
    const p = new PartitionProgress(11n, [12n, 13n]);
    expect(p.deliver(10n)).toBe(false);
    expect(p.deliver(11n)).toBe(true);
    expect(p.deliver(12n)).toBe(false);
    expect(p.deliver(13n)).toBe(false);
    expect(p.deliver(14n)).toBe(true);
    p.complete(11n);
    expect(p.watermark).toBe(14n);
  });

  it('refuses a second delivery of a pending record (re-fetch after a seek)', () => {
    const p = new PartitionProgress(0n);
    expect(p.deliver(0n)).toBe(true);
    expect(p.deliver(0n)).toBe(false);
  });
});

/**
 * Model of a crash/restart: records 0..n-1 are delivered in order, finished in an arbitrary order,
 * and a snapshot is taken at an arbitrary point; a new lineage restored from the snapshot re-reads
 * from its watermark. Every record must be finished exactly once across the snapshot and the new lineage.
 */
describe('OffsetLedger across a restart', () => {
  it('finishes every record exactly once (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.nat(),
        (n, picks, cut) => {
          const ledger = new OffsetLedger();
          const pending: number[] = [];
          const finished: number[] = [];
          let next = 0;
          const events = Math.min(picks.length, 2 * n);
          const snapshotAt = events === 0 ? 0 : cut % (events + 1);
          let snap = ledger.snapshot();
          let doneAtSnap: number[] = [];
          for (let e = 0; e < events; e++) {
            if (e === snapshotAt) {
              snap = ledger.snapshot();
              doneAtSnap = [...finished];
            }
            const pick = picks[e];
            if (next < n && (pending.length === 0 || pick % 2 === 0)) {
              expect(ledger.deliver('t', 0, String(next))).toBe(true);
              pending.push(next++);
            } else if (pending.length > 0) {
              const [o] = pending.splice(pick % pending.length, 1);
              ledger.complete('t', 0, String(o));
              finished.push(o);
            }
          }
          if (snapshotAt >= events) {
            snap = ledger.snapshot();
            doneAtSnap = [...finished];
          }
          // New lineage: resume from the snapshot, re-read everything from the first record.
          const resumed = new OffsetLedger(snap);
          const trainedAgain: number[] = [];
          for (let o = 0; o < n; o++) {
            if (resumed.deliver('t', 0, String(o))) {
              resumed.complete('t', 0, String(o));
              trainedAgain.push(o);
            }
          }
          const all = [...doneAtSnap, ...trainedAgain].sort((a, b) => a - b);
          expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
        },
      ),
    );
  });
});
