/**
 * In-flight accounting for one partition with hysteresis: a record is in flight from the moment
 * it is handed to the pipeline until its output is committed. Crossing `high` records (or
 * `maxBytes` bytes) asks for a pause; falling to `low` records and half of `maxBytes` asks for a
 * resume. RxJS has no backpressure (ReactiveX/rxjs#71), so this is what bounds every queue in the
 * lane (concatMap, bufferTime, the warm-up hold) — in records and in memory.
 */
export type FlowSignal = 'pause' | 'resume' | null;

export class InFlight {
  private n = 0;
  private total = 0;
  private isPaused = false;
  /** Sizes of in-flight records, oldest first (commits release records in offset order). */
  private readonly sizes: number[] = [];
  private head = 0;

  constructor(
    readonly high: number,
    readonly low: number,
    /** Byte cap (consumer.maxInFlightBytes); Infinity = records only. */
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
    /**
     * The byte cap never pauses a partition holding fewer records than this: records held for the
     * arbitration warm-up must fit, or a paused partition would wait for itself forever.
     */
    readonly byteFloor: number = 1,
  ) {
    if (!(low >= 0 && low < high))
      throw new RangeError(`watermarks need 0 <= low < high, got low=${low} high=${high}`);
    if (!(maxBytes > 0)) throw new RangeError(`maxBytes must be > 0, got ${maxBytes}`);
  }

  get count(): number {
    return this.n;
  }

  /** Bytes (key + value) of the records in flight. */
  get bytes(): number {
    return this.total;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Records handed to the pipeline; `bytes` = their summed size (spread evenly when records > 1). */
  add(records: number, bytes = 0): FlowSignal {
    this.n += records;
    this.total += bytes;
    for (let i = 0; i < records; i++) this.sizes.push(bytes / records);
    if (!this.isPaused && (this.n >= this.high || this.overBytes(this.maxBytes))) {
      this.isPaused = true;
      return 'pause';
    }
    return null;
  }

  private overBytes(limit: number): boolean {
    return this.total >= limit && this.n >= this.byteFloor;
  }

  /** Records committed (or dropped), oldest first. */
  release(records: number): FlowSignal {
    const k = Math.min(records, this.sizes.length - this.head);
    for (let i = 0; i < k; i++) this.total -= this.sizes[this.head + i];
    this.head += k;
    if (this.head > 1024 && this.head * 2 > this.sizes.length) {
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
    this.n = Math.max(0, this.n - records);
    if (this.n === 0) this.total = 0; // no float drift once empty
    if (this.isPaused && this.n <= this.low && !this.overBytes(this.maxBytes / 2)) {
      this.isPaused = false;
      return 'resume';
    }
    return null;
  }
}
