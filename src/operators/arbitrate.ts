import { Observable, type OperatorFunction } from 'rxjs';
import type { Arbitrator } from '../arbitration/arbitrator.ts';
import { ArbitrationError } from '../arbitration/errors.ts';
import type { ArbitrateResult, Batch, ScoreResult } from './types.ts';

export interface ArbitrateOptions {
  /** The lane completed while batches were still held (warm-up not reached): they are not emitted. */
  readonly onDropHeld?: (records: number) => void;
}

/**
 * Routes each scored record against its probe version's window. Scores enter the window as soon
 * as a batch arrives; decisions wait until that window is warm. Until then batches are held here,
 * in order (bounded: held records are in flight, and the consumer pauses a partition at its high
 * watermark, which config keeps ≥ arbitration.warmup). Held batches are released when this lane's
 * next batch arrives or when any lane warms the window (`arbitrator.warm$`).
 */
export function arbitrate(
  arbitrator: Arbitrator,
  options: ArbitrateOptions = {},
): OperatorFunction<Batch<ScoreResult>, ArbitrateResult[]> {
  return (source) =>
    new Observable<ArbitrateResult[]>((subscriber) => {
      const held: Batch<ScoreResult>[] = [];
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

      const warmSub = arbitrator.warm$.subscribe(() => release());
      const sourceSub = source.subscribe({
        next: (batch) => {
          for (const r of batch) {
            if (r.kind !== 'scored') continue;
            const value = arbitrator.valueOf(r.scores);
            if (Number.isFinite(value)) arbitrator.observe(r.probe, value);
          }
          held.push(batch);
          release();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          release();
          const left = held.reduce((n, b) => n + b.length, 0);
          if (left > 0) options.onDropHeld?.(left);
          subscriber.complete();
        },
      });
      return () => {
        warmSub.unsubscribe();
        sourceSub.unsubscribe();
      };
    });
}
