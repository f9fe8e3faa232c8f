import type { TopicMessages } from 'kafkajs';
import type { Logger } from '../log.ts';
import type { Batch, Outbound } from '../operators/types.ts';
import { OVERSIZE_HEADERS, fitBatch, sendBudget, soloRecordBytes, type OutputLimits } from './fit.ts';
import { MAX_SEND_BYTES, toSendChunks } from './messages.ts';

export type { OutputLimits };

/** How often the broker's MESSAGE_TOO_LARGE halves the assumed limits before it counts as a failure. */
export const MAX_SHRINK = 12;

/** One output written without its payload because its topic would not accept it. */
export interface FitReport {
  readonly source: { topic: string; partition: number; offset: string };
  readonly fromTopic: string;
  readonly toTopic: string;
  /** OUTPUT_TOO_LARGE or DEAD_LETTER_TOO_LARGE. */
  readonly code: string;
  readonly originalBytes: number;
  readonly limitBytes: number | null;
}

export interface FitSendHooks {
  readonly log?: Logger;
  readonly onFitted?: (report: FitReport) => void;
  /** The batch as it is sent: one output per input, an output its topic would refuse replaced by its dead letter. */
  readonly onOutputs?: (outputs: Batch<Outbound>) => void;
}

/**
 * The produce calls of a batch: outputs fitted to their topics' limits (fit.ts) and chunked so no
 * record batch exceeds them. Each fitted output is logged (warn) with where its original lives.
 */
export function fittedForSend(
  batch: Batch<Outbound>,
  limits: OutputLimits | undefined,
  shrink: number,
  hooks: FitSendHooks,
): TopicMessages[][] {
  if (limits === undefined) {
    hooks.onOutputs?.(batch);
    return toSendChunks(batch);
  }
  const fitted = fitBatch(batch, limits, shrink);
  const outputs = fitted.map((f) => f.output);
  hooks.onOutputs?.(outputs);
  for (const f of fitted) {
    if (f.original === null) continue;
    const s = f.original.source;
    const report: FitReport = {
      source: { topic: s.topic, partition: s.partition, offset: s.offset },
      fromTopic: f.original.topic,
      toTopic: f.output.topic,
      code: f.output.reason ?? '',
      originalBytes: soloRecordBytes(f.original),
      limitBytes: limits.maxMessageBytes(f.original.topic) ?? null,
    };
    hooks.log?.warn(
      { ...report, payload: f.output.headers[OVERSIZE_HEADERS.payload], shrink },
      'output too large for its topic: written without its payload (the original stays in the input topic)',
    );
    hooks.onFitted?.(report);
  }
  return toSendChunks(outputs, sendBudget(outputs, limits, MAX_SEND_BYTES, shrink));
}
