import { PrismError } from '../errors.ts';

export const IO_ERROR_CODES = [
  'IO_UNKNOWN_FORMAT', // file extension is neither .jsonl nor .avro
  'IO_READ_FAILED', // file missing / unreadable
  'IO_WRITE_FAILED',
  'AVRO_FILE_CORRUPT', // Avro object container file is damaged (bad magic, sync marker, block)
] as const;
export type IoErrorCode = (typeof IO_ERROR_CODES)[number];

/** A whole file cannot be read or written (per-record problems are RecordErrors instead). */
export class IoError extends PrismError {
  declare readonly code: IoErrorCode;

  constructor(code: IoErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(code, message, options);
  }
}
