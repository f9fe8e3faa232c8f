import { concatMap, type OperatorFunction } from 'rxjs';
import type { Committed, LaneSink } from '../producer/types.ts';
import type { Batch, Outbound } from './types.ts';

/**
 * Writes each batch through the lane's sink, one at a time and in order, so the offset committed
 * with batch n is never ahead of an output of batches < n (contiguous-offset rule). What it emits
 * (and the metrics count) is the batch the sink actually wrote: an SFT/RL output its topic would
 * refuse is there as its OUTPUT_TOO_LARGE dead letter (src/producer/fit.ts).
 */
export function commit(
  sink: LaneSink,
  now: () => number = Date.now,
): OperatorFunction<Batch<Outbound>, Committed> {
  return concatMap(async (outputs) => {
    const written = (await sink.write(outputs)) ?? outputs;
    return { outputs: written, committedAt: now() };
  });
}
