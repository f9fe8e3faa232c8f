import { concatMap, type OperatorFunction } from 'rxjs';
import type { Committed, LaneSink } from '../producer/types.ts';
import type { Batch, Outbound } from './types.ts';

/**
 * Writes each batch through the lane's sink, one at a time and in order, so the offset committed
 * with batch n is never ahead of an output of batches < n (contiguous-offset rule).
 */
export function commit(
  sink: LaneSink,
  now: () => number = Date.now,
): OperatorFunction<Batch<Outbound>, Committed> {
  return concatMap(async (outputs) => {
    await sink.write(outputs);
    return { outputs, committedAt: now() };
  });
}
