/**
 * Exact quantiles over the last `capacity` values (a count-based sliding window).
 *
 * Why hand-written: the window needs exact, insertion-ordered eviction plus arbitrary quantiles.
 * Streaming sketches on npm (t-digest, P², KLL ports) are approximate and cumulative: they cannot
 * forget the value that leaves the window, so they drift when the score distribution moves, and
 * PRISM's split is defined on the exact median. A FIFO ring plus a sorted array is ~50 lines:
 * O(log W) binary search and an O(W) memmove per insert/evict, i.e. microseconds for W ≤ 10⁵,
 * far below one scoring call. Two heaps would give O(log W) updates but need lazy deletion for
 * eviction and only serve one fixed quantile; `quantile` here answers any q.
 */
export class SlidingQuantile {
  readonly capacity: number;
  /** Arrival order, for eviction. */
  private readonly ring: number[] = [];
  private head = 0;
  /** The same values, ascending. */
  private readonly sorted: number[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`window capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Adds a finite value, evicting the oldest one when the window is full. */
  push(value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`window values must be finite, got ${value}`);
    if (this.ring.length < this.capacity) {
      this.ring.push(value);
    } else {
      const evicted = this.ring[this.head];
      this.ring[this.head] = value;
      this.head = (this.head + 1) % this.capacity;
      this.sorted.splice(lowerBound(this.sorted, evicted), 1);
    }
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
  }

  /**
   * The q-quantile with linear interpolation between closest ranks (Hyndman–Fan type 7, numpy's
   * default): q = 0.5 on an even window is the mean of the two middle values.
   */
  quantile(q: number): number {
    const n = this.sorted.length;
    if (n === 0) throw new RangeError('quantile of an empty window');
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile q must be in [0, 1], got ${q}`);
    const h = (n - 1) * q;
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, n - 1);
    return this.sorted[lo] + (h - lo) * (this.sorted[hi] - this.sorted[lo]);
  }

  /** Window contents in arrival order (oldest first); for tests and snapshots. */
  values(): number[] {
    return [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
  }
}

/** First index i with sorted[i] >= value. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
