import { autoBatchBudgetBytes, batchActivationBytes, type MemoryShape } from './memory.ts';

/**
 * How the tfjs scorer cuts a micro-batch into forward/backward passes ("buckets"). Pure: PrismScorer
 * scores with it and `prism bench padding` models padding with the very same code.
 */
export interface BucketLimits {
  /** scorer.batchSize: rows per pass. */
  readonly batchSize: number;
  /** scorer.maxSeqLen (already capped at the model's limit): a longer row counts as this long. */
  readonly maxSeqLen: number;
  /**
   * Cap on batchActivationBytes of one pass (scorer.maxBatchMemoryMB): bytes, or `auto` =
   * autoBatchBudgetBytes at the pass's T (needs weightBytes); default unlimited.
   */
  readonly maxBatchBytes?: number | 'auto';
  /** The model's weights in bytes (for `auto`). */
  readonly weightBytes?: number;
  /** Cap on rows × longest row of one pass (scorer.maxBatchTokens); default unlimited. */
  readonly maxBatchTokens?: number;
  /** The model shape the memory estimate needs. */
  readonly model: MemoryShape;
}

/**
 * Consecutive runs of `items` in the order given: a run closes before an item would make it longer than
 * batchSize or push the pass over maxBatchBytes / maxBatchTokens, with the pass's T taken as that item's
 * length (right for length-sorted input, where the newest item is the longest). A single item always
 * forms a run, whatever it costs.
 */
export function splitIntoBuckets<T>(
  items: readonly T[],
  lengthOf: (item: T) => number,
  limits: BucketLimits,
): T[][] {
  const cap = limits.maxBatchBytes;
  const budgetAt = (T: number): number =>
    cap === 'auto'
      ? autoBatchBudgetBytes(limits.model, T, limits.weightBytes ?? 0)
      : (cap ?? Number.POSITIVE_INFINITY);
  const tokenBudget = limits.maxBatchTokens ?? Number.POSITIVE_INFINITY;
  const out: T[][] = [];
  let cur: T[] = [];
  for (const item of items) {
    const T = Math.min(lengthOf(item), limits.maxSeqLen);
    const bytes = batchActivationBytes(limits.model, cur.length + 1, T);
    const tokens = (cur.length + 1) * T;
    if (cur.length > 0 && (cur.length >= limits.batchSize || bytes > budgetAt(T) || tokens > tokenBudget)) {
      out.push(cur);
      cur = [];
    }
    cur.push(item);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * What the scorer does: sort by length (ascending, stable), so similar lengths share a pass, then split;
 * the passes are evened out: the fewest rows per pass that needs no more passes than the greedy split
 * (16 rows under a cap of 13 per pass become 8 + 8, not 13 + 3: a 3-row pass costs nearly as much
 * overhead as a full one).
 */
export function lengthBuckets<T>(
  items: readonly T[],
  lengthOf: (item: T) => number,
  limits: BucketLimits,
): T[][] {
  const sorted = [...items].sort((a, b) => lengthOf(a) - lengthOf(b));
  const greedy = splitIntoBuckets(sorted, lengthOf, limits);
  for (let rows = Math.ceil(sorted.length / greedy.length); rows < limits.batchSize; rows++) {
    const even = splitIntoBuckets(sorted, lengthOf, { ...limits, batchSize: rows });
    if (even.length <= greedy.length) return even;
  }
  return greedy;
}
