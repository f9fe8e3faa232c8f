import { z } from 'zod';
import { PrismError } from '../errors.ts';
import type { PrismScores } from '../schemas/types.ts';
import type { ProbeRef } from './arbitrator.ts';

/**
 * One record of the scores topic (topics.scores), the arbitration window's changelog: written in
 * the transaction of the micro-batch that routed the record, so read_committed readers see exactly
 * the scores whose outputs were committed. Small JSON (no payload, no norm vector).
 */
export interface ScoreRecord {
  /** Format version. */
  readonly v: 1;
  /** consumer.groupId of the writer: one window per arbitrator application; others' records are skipped. */
  readonly group: string;
  readonly trajectory_id: string;
  readonly probe_model_id: string;
  readonly probe_model_version: string;
  /** The statistic the window holds (arbitration.metric of the writer) and its value for this record. */
  readonly metric: string;
  readonly value: number;
  readonly scores: Readonly<Pick<PrismScores, 'gini' | 'kurtosis' | 'cv' | 'l2'>>;
  /** The route and the threshold the record was decided with. */
  readonly route: 'SFT' | 'RL';
  readonly threshold: number;
  readonly source_topic: string;
  readonly source_partition: number;
  readonly source_offset: string;
  /** ms since the epoch. */
  readonly scored_at: number;
}

const scoreRecordSchema = z
  .object({
    v: z.literal(1),
    group: z.string().min(1),
    trajectory_id: z.string(),
    probe_model_id: z.string().min(1),
    probe_model_version: z.string().min(1),
    metric: z.string().min(1),
    value: z.number().finite(),
    scores: z.object({ gini: z.number(), kurtosis: z.number(), cv: z.number(), l2: z.number() }),
    route: z.enum(['SFT', 'RL']),
    threshold: z.number(),
    source_topic: z.string().min(1),
    source_partition: z.number().int().min(0),
    source_offset: z.string().regex(/^\d+$/),
    scored_at: z.number(),
  })
  .strip();

export const STATE_ERROR_CODES = [
  /** A record of the scores topic that is not a ScoreRecord (skipped, counted, logged). */
  'SCORE_RECORD_INVALID',
  /** The scores topic is missing and could not be created. */
  'SCORES_TOPIC_UNAVAILABLE',
] as const;
export type StateErrorCode = (typeof STATE_ERROR_CODES)[number];

/** The arbitration state (arbitration.state kafka) could not be read or written. */
export class ArbitrationStateError extends PrismError {
  declare readonly code: StateErrorCode;

  constructor(code: StateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function encodeScoreRecord(r: ScoreRecord): Buffer {
  return Buffer.from(JSON.stringify(r));
}

/** Parses one scores-topic value; anything else is a typed SCORE_RECORD_INVALID error. */
export function decodeScoreRecord(value: Buffer | null): ScoreRecord {
  if (value === null) throw new ArbitrationStateError('SCORE_RECORD_INVALID', 'empty scores-topic record');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new ArbitrationStateError('SCORE_RECORD_INVALID', 'scores-topic record is not JSON', {
      cause: err,
    });
  }
  const parsed = scoreRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArbitrationStateError(
      'SCORE_RECORD_INVALID',
      `scores-topic record: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data as ScoreRecord;
}

/** Message key: scores of one input partition share a scores partition (their order is kept). */
export function scoreRecordKey(r: Pick<ScoreRecord, 'source_topic' | 'source_partition'>): string {
  return `${r.source_topic}/${r.source_partition}`;
}

export function probeOf(r: ScoreRecord): ProbeRef {
  return { modelId: r.probe_model_id, version: r.probe_model_version };
}
