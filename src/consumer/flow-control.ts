/**
 * In-flight accounting for one partition with hysteresis: a record is in flight from the moment
 * it is handed to the pipeline until its output is committed. Crossing `high` asks for a pause;
 * falling to `low` asks for a resume. RxJS has no backpressure (ReactiveX/rxjs#71), so this is
 * what bounds every queue in the lane (concatMap, bufferTime, the warm-up hold).
 */
export type FlowSignal = 'pause' | 'resume' | null;

export class InFlight {
  private n = 0;
  private isPaused = false;

  constructor(
    readonly high: number,
    readonly low: number,
  ) {
    if (!(low >= 0 && low < high))
      throw new RangeError(`watermarks need 0 <= low < high, got low=${low} high=${high}`);
  }

  get count(): number {
    return this.n;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Records handed to the pipeline. */
  add(records: number): FlowSignal {
    this.n += records;
    if (!this.isPaused && this.n >= this.high) {
      this.isPaused = true;
      return 'pause';
    }
    return null;
  }

  /** Records committed (or dropped). */
  release(records: number): FlowSignal {
    this.n = Math.max(0, this.n - records);
    if (this.isPaused && this.n <= this.low) {
      this.isPaused = false;
      return 'resume';
    }
    return null;
  }
}
