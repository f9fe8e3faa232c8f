import { bufferTime, filter, type OperatorFunction, type SchedulerLike } from 'rxjs';

/**
 * Size-or-time micro-batches: a batch closes at `count` items or `maxWaitMs` after it opened.
 * `bufferTime` emits an empty array on every idle tick (ReactiveX/rxjs#2601); those are dropped,
 * so downstream never sees an empty batch. On completion the partial batch is flushed.
 */
export function microBatch<T>(
  count: number,
  maxWaitMs: number,
  scheduler?: SchedulerLike,
): OperatorFunction<T, T[]> {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`microBatch count must be a positive integer, got ${count}`);
  if (!(maxWaitMs > 0)) throw new RangeError(`microBatch maxWaitMs must be positive, got ${maxWaitMs}`);
  return (source) =>
    source.pipe(
      scheduler === undefined
        ? bufferTime<T>(maxWaitMs, null, count)
        : bufferTime<T>(maxWaitMs, null, count, scheduler),
      filter((batch) => batch.length > 0),
    );
}
