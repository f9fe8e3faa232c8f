import type { IHeaders } from 'kafkajs';
import type { Decision, ProbeRef } from '../arbitration/arbitrator.ts';
import type { PrismError } from '../errors.ts';
import type { PrismScores, Trajectory } from '../schemas/types.ts';

/** One input record as read from Kafka; carried to the end so outputs can name their origin. */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  /** 64-bit offsets stay decimal strings. */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
  /** Record timestamp, ms since the epoch (for end-to-end latency). */
  readonly timestamp: number;
}

/** Where a record failed; it goes to the dead-letter topic with this stage and the error's code. */
export type FailureStage = 'decode' | 'score' | 'arbitrate';

export interface Failed {
  readonly kind: 'failed';
  readonly source: SourceRecord;
  readonly stage: FailureStage;
  readonly error: PrismError;
}

export interface Decoded {
  readonly kind: 'decoded';
  readonly source: SourceRecord;
  readonly trajectory: Trajectory;
}

export interface Scored {
  readonly kind: 'scored';
  readonly source: SourceRecord;
  readonly trajectory: Trajectory;
  readonly scores: PrismScores;
  readonly probe: ProbeRef;
  readonly scoredAt: number;
}

export interface Decided extends Omit<Scored, 'kind'> {
  readonly kind: 'decided';
  readonly decision: Decision;
}

export type DecodeResult = Decoded | Failed;
export type ScoreResult = Scored | Failed;
export type ArbitrateResult = Decided | Failed;

export type OutputRoute = 'SFT' | 'RL' | 'DLQ';

/** Exactly one per input record: the message written for it. */
export interface Outbound {
  readonly source: SourceRecord;
  readonly route: OutputRoute;
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
  /** Error code for DLQ outputs (metrics label). */
  readonly reason?: string;
  /** Written with this output in the same transaction: its score for the window's changelog (topics.scores). */
  readonly changelog?: ChangelogMessage;
}

/** A state record that rides with an output (arbitration.state kafka). */
export interface ChangelogMessage {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
}

/** A micro-batch: contiguous records of one input partition, in offset order. */
export type Batch<T> = readonly T[];
