import { PrismError } from '../errors.ts';

/**
 * Dead-letter records, KIP-1034 style (Kafka Streams 4.2 ExceptionHandlerUtils header names):
 * the original key, value and headers are kept byte for byte, and the error is described in
 * headers. Pure: building the message does no I/O; the caller produces it (inside its
 * transaction under exactly-once).
 */
export const DLQ_HEADERS = {
  exception: '__streams.errors.exception',
  message: '__streams.errors.message',
  stacktrace: '__streams.errors.stacktrace',
  topic: '__streams.errors.topic',
  partition: '__streams.errors.partition',
  offset: '__streams.errors.offset',
  code: 'prism.error.code',
} as const;

/** `prism.error.code` of errors that are not PrismErrors (bugs, library exceptions). */
export const UNEXPECTED_ERROR_CODE = 'UNEXPECTED_ERROR';

/** Header values are capped so a huge message or stack cannot push the record past max.message.bytes. */
const MAX_HEADER_CHARS = 8192;

/**
 * Record headers: the same shape as kafkajs' IHeaders (a header may repeat), declared here so the
 * schemas stay free of the Kafka client; kafkajs headers pass in and out unchanged.
 */
export interface RecordHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}

/** Where the failed record came from, as kafkajs hands it to eachMessage/eachBatch. */
export interface SourceRecord {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (64-bit safe). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeaders;
}

/** A kafkajs-compatible message: `producer.send({ topic: dlq, messages: [deadLetter] })`. */
export interface DeadLetterMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

export interface DeadLetterInfo {
  exception: string;
  message: string;
  stacktrace: string;
  topic: string;
  partition: number;
  offset: string;
  code: string;
}

function cap(s: string): string {
  return s.length > MAX_HEADER_CHARS ? `${s.slice(0, MAX_HEADER_CHARS - 15)}...[truncated]` : s;
}

export function buildDeadLetter(source: SourceRecord, error: unknown): DeadLetterMessage {
  const err = error instanceof Error ? error : new Error(String(error));
  const headers: RecordHeaders = { ...source.headers };
  headers[DLQ_HEADERS.exception] = err.name || err.constructor.name;
  headers[DLQ_HEADERS.message] = cap(err.message);
  headers[DLQ_HEADERS.stacktrace] = cap(err.stack ?? `${err.name}: ${err.message}`);
  headers[DLQ_HEADERS.topic] = source.topic;
  headers[DLQ_HEADERS.partition] = String(source.partition);
  headers[DLQ_HEADERS.offset] = source.offset;
  headers[DLQ_HEADERS.code] = err instanceof PrismError ? err.code : UNEXPECTED_ERROR_CODE;
  return { key: source.key, value: source.value, headers };
}

function headerText(headers: RecordHeaders, name: string): string | undefined {
  const v = headers[name];
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
}

/** The error description of a dead-letter record, or null when `headers` are not DLQ headers. */
export function readDeadLetter(headers: RecordHeaders | undefined): DeadLetterInfo | null {
  if (!headers) return null;
  const exception = headerText(headers, DLQ_HEADERS.exception);
  if (exception === undefined) return null;
  return {
    exception,
    message: headerText(headers, DLQ_HEADERS.message) ?? '',
    stacktrace: headerText(headers, DLQ_HEADERS.stacktrace) ?? '',
    topic: headerText(headers, DLQ_HEADERS.topic) ?? '',
    partition: Number(headerText(headers, DLQ_HEADERS.partition) ?? -1),
    offset: headerText(headers, DLQ_HEADERS.offset) ?? '',
    code: headerText(headers, DLQ_HEADERS.code) ?? '',
  };
}
