import { Observable, type OperatorFunction } from 'rxjs';
import { windowKey, type Arbitrator } from '../arbitration/arbitrator.ts';
import { ArbitrationError } from '../arbitration/errors.ts';
import type { ArbitrateResult, Batch, ScoreResult } from './types.ts';

export interface ArbitrateOptions {
  /** The lane completed while batches were still held (warm-up not reached): they are not emitted. */
  readonly onDropHeld?: (records: number) => void;
}

let laneIds = 0;

/**
 * Routes each scored record against its probe version's window. Scores enter the window as soon
 * as a batch arrives; decisions wait until that window is warm. Until then batches are held here,
 * in order (bounded: held records are in flight, and the consumer pauses a partition at its high
 * watermark, which config keeps ≥ arbitration.warmup). Held batches are released when this lane's
 * next batch arrives or when any lane warms the window (`arbitrator.warm$`). What is held is
 * reported to `arbitrator.holds` (logged, on /readyz and the dashboard).
 */
export function arbitrate(
  arbitrator: Arbitrator,
  options: ArbitrateOptions = {},
): OperatorFunction<Batch<ScoreResult>, ArbitrateResult[]> {
  return (source) =>
    new Observable<ArbitrateResult[]>((subscriber) => {
      const held: Batch<ScoreResult>[] = [];
      const lane = `lane-${++laneIds}`;
      /** Window key of the probe this lane's held records wait for (while it holds any). */
      let waitingFor: string | undefined;
      /** Tells arbitrator.holds how many records wait here, and how full the awaited window is. */
      const report = (closed = false): void => {
        let records = 0;
        for (const b of held) records += b.length;
        if (records > 0) {
          const first = held[0].find((r) => r.kind === 'scored');
          waitingFor = first?.kind === 'scored' ? windowKey(first.probe) : waitingFor;
        }
        // The awaited window's size, also on release (then it is the size that warmed it).
        const size =
          waitingFor === undefined
            ? 0
            : (arbitrator.snapshot().find((w) => windowKey(w.probe) === waitingFor)?.size ?? 0);
        if (records === 0) waitingFor = undefined;
        arbitrator.holds.set(lane, closed ? 0 : records, size, closed && records > 0);
      };
      const ready = (batch: Batch<ScoreResult>): boolean =>
        batch.every((r) => r.kind !== 'scored' || arbitrator.isWarm(r.probe));
      const release = (): void => {
        while (held.length > 0 && ready(held[0])) {
          const batch = held.shift() as Batch<ScoreResult>;
          subscriber.next(batch.map(decideOne));
        }
      };
      const decideOne = (r: ScoreResult): ArbitrateResult => {
        if (r.kind !== 'scored') return r;
        const value = arbitrator.valueOf(r.scores);
        if (!Number.isFinite(value)) {
          const error = new ArbitrationError(
            'SCORE_NOT_FINITE',
            `${arbitrator.metric} is ${value} for trajectory ${r.trajectory.id}`,
          );
          return { kind: 'failed', source: r.source, stage: 'arbitrate', error };
        }
        const { kind: _kind, ...rest } = r;
        return { ...rest, kind: 'decided', decision: arbitrator.decide(r.probe, value) };
      };

      const warmSub = arbitrator.warm$.subscribe(() => {
        release();
        report();
      });
      const sourceSub = source.subscribe({
        next: (batch) => {
          for (const r of batch) {
            if (r.kind !== 'scored') continue;
            const value = arbitrator.valueOf(r.scores);
            if (Number.isFinite(value)) arbitrator.observe(r.probe, value, r.source);
          }
          held.push(batch);
          release();
          report();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          release();
          const left = held.reduce((n, b) => n + b.length, 0);
          if (left > 0) options.onDropHeld?.(left);
          report(true);
          subscriber.complete();
        },
      });
      return () => {
        report(true);
        warmSub.unsubscribe();
        sourceSub.unsubscribe();
      };
    });
}
