import { concatMap, type OperatorFunction } from 'rxjs';
import { PrismError, errorMessage } from '../errors.ts';
import { UNEXPECTED_ERROR_CODE } from '../schemas/dead-letter.ts';
import type { Trajectory } from '../schemas/types.ts';
import type { DecodeResult, SourceRecord } from './types.ts';

/** Bytes → trajectory; throws (or rejects with) a PrismError with a stable reason code for a bad record. */
export type ValueDecoder = (value: Buffer | null, source: SourceRecord) => Trajectory | Promise<Trajectory>;

export interface DecodeOptions {
  /**
   * Errors that are not the record's fault (schema registry down): they error the stream instead
   * of dead-lettering a good record; nothing is committed and a restart retries.
   */
  readonly isFatal?: (err: unknown) => boolean;
}

/**
 * Decodes each record. A record that cannot be decoded is not dropped: it becomes a `failed`
 * item that flows on in order and is written to the dead-letter topic by `route`. An error that
 * is not a PrismError (a library bug on odd bytes) is dead-lettered as UNEXPECTED_ERROR rather
 * than crash-looping on a poison record.
 */
export function decode(
  decodeValue: ValueDecoder,
  options: DecodeOptions = {},
): OperatorFunction<SourceRecord, DecodeResult> {
  // concatMap keeps offset order across asynchronous decodes (schema lookups); its queue is
  // bounded by the consumer's in-flight watermarks.
  return concatMap(async (source): Promise<DecodeResult> => {
    try {
      return { kind: 'decoded', source, trajectory: await decodeValue(source.value, source) };
    } catch (err) {
      if (options.isFatal?.(err) === true) throw err;
      const error =
        err instanceof PrismError
          ? err
          : new PrismError(UNEXPECTED_ERROR_CODE, errorMessage(err), { cause: err });
      return { kind: 'failed', source, stage: 'decode', error };
    }
  });
}
