import type { Batch, Outbound } from '../operators/types.ts';

/**
 * Where one partition lane's outputs go. `write` resolves only once the batch's outputs are
 * durable AND the input offset after its last record is committed (in one transaction for
 * exactly-once; acks then offset commit for at-least-once). Batches are written in order.
 * It resolves with the outputs as written (one per input, in order): an output its topic would
 * refuse is its payload-less dead letter there (src/producer/fit.ts); void means as given.
 */
export interface LaneSink {
  write(batch: Batch<Outbound>): Promise<Batch<Outbound> | void>;
  /** From now on commit nothing more (an open transaction is aborted instead of committed). */
  abort(): void;
  /** Wait for the write in progress, then release the producer. Idempotent. */
  close(): Promise<void>;
}

/** One committed micro-batch. */
export interface Committed {
  readonly outputs: Batch<Outbound>;
  readonly committedAt: number;
}
