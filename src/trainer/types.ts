import type * as tf from '@tensorflow/tfjs';
import type { PrismError } from '../errors.ts';
import type { ModelUpdate, ScoredTrajectory } from '../schemas/types.ts';
import type { PartitionOffsets } from './offsets.ts';

export type TrainerKind = 'sft' | 'rl';

/** One record consumed from the input topic, decoded. */
export interface InputRecord {
  topic: string;
  partition: number;
  /** Decimal string. */
  offset: string;
  value: ScoredTrajectory;
  /** Raw bytes and headers, for the DLQ. */
  key: Buffer | null;
  raw: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
}

/** A record that failed before training: goes to the DLQ with its reason. */
export interface Rejected {
  record: Pick<InputRecord, 'topic' | 'partition' | 'offset' | 'key' | 'raw' | 'headers'>;
  error: PrismError;
}

/** What a step engine made of one record ahead of training (token ids, masks, advantage...). */
export interface TrainItem<P> {
  record: InputRecord;
  prepared: P;
  /** RL only. */
  reward?: number;
  advantage?: number;
  groupSize?: number;
}

export interface MicroBatchResult {
  /** Gradients of the micro-batch's summed loss, by HF weight name (caller disposes). */
  grads: Map<string, tf.Tensor>;
  /** Summed loss (before dividing by the step weight). */
  lossSum: number;
  /** Tokens or sequences the sum runs over (see rl-loss aggregation). */
  weight: number;
  /** Target tokens trained on. */
  tokens: number;
  /** Extra diagnostics summed over the micro-batch (e.g. clipped tokens, KL sum). */
  stats: Record<string, number>;
}

/** Turns records into gradients; SFT and RL differ only here. */
export interface StepEngine<P> {
  /** Validates and tokenizes one record; a PrismError means dead-letter it. */
  prepare(record: InputRecord): { ok: true; prepared: P } | { ok: false; error: PrismError };
  /** Forward + backward on one micro-batch. */
  computeGrads(items: readonly TrainItem<P>[]): MicroBatchResult;
}

/** Side effects of the trainer towards Kafka, injected so the loop runs without a broker in unit tests. */
export interface TrainerSink {
  /** Sends rejected records to the DLQ; resolves once the broker acked them. */
  deadLetter(rejected: readonly Rejected[]): Promise<void>;
  /** Commits the consumer group's offsets (watermarks of a written checkpoint). */
  commit(offsets: readonly PartitionOffsets[]): Promise<void>;
  /** Publishes a ModelUpdate (key = model id). */
  publish(update: ModelUpdate): Promise<void>;
}
