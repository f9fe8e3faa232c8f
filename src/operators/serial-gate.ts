/**
 * Runs async jobs one at a time, in call order. The scorer's backend (one tfjs engine, two
 * cores) is shared by every partition lane: one micro-batch at a time keeps latency predictable
 * and memory bounded instead of interleaving kernels of several batches.
 */
export class SerialGate {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Jobs queued or running. */
  get pending(): number {
    return this.waiting;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    this.waiting += 1;
    const result = this.tail.then(job);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.waiting -= 1;
    });
  }
}
