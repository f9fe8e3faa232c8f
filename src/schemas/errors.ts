import { PrismError } from '../errors.ts';

/**
 * Stable reason codes for a record that cannot be used. Every one of them means "this record is
 * bad" (retrying will not help): route it to the dead-letter topic with `prism.error.code` set.
 * Never rename a code: dashboards and DLQ tooling key on them.
 */
export const DECODE_REASON_CODES = [
  'DECODE_EMPTY', // null (tombstone) or zero-length value
  'DECODE_BAD_MAGIC', // first byte is not the Confluent magic 0x00
  'DECODE_TRUNCATED', // fewer bytes than the header or the Avro body needs
  'DECODE_UNKNOWN_SCHEMA_ID', // schema id not in the registry
  'DECODE_INVALID_AVRO', // impossible Avro body: bad union/enum index, negative length, varint overflow, unsafe long
  'DECODE_TRAILING_BYTES', // body decoded but bytes are left over (wrong writer schema)
  'DECODE_INVALID_JSON', // JSON input that does not parse
  'INVALID_UTF8', // a string (or a JSON document) is not valid UTF-8 / Unicode
  'RECORD_TOO_LARGE', // more bytes than input.limits.maxBytes
  'SCHEMA_MISMATCH', // value does not match the expected schema (wrong record type, wrong field type)
  'SCHEMA_INCOMPATIBLE', // writer schema cannot be resolved to the reader schema
  'DECODE_TOO_DEEP', // JSON nested deeper than a trajectory can be (rejected before JSON.parse)
] as const;

export const VALIDATION_REASON_CODES = [
  'MISSING_ID',
  'MISSING_TASK_ID',
  'NO_ASSISTANT_TURN',
  'LOGPROBS_LENGTH_MISMATCH',
  'LOGPROB_NOT_FINITE',
  'INVALID_TOKEN_ID',
  'REWARD_NOT_FINITE',
  'TOO_MANY_TURNS',
  'TOO_MANY_TOKENS',
] as const;

/** All record reason codes (the values `prism.error.code` can take for a bad record). */
export const RECORD_REASON_CODES = [...DECODE_REASON_CODES, ...VALIDATION_REASON_CODES] as const;

export type DecodeReasonCode = (typeof DECODE_REASON_CODES)[number];
export type ValidationReasonCode = (typeof VALIDATION_REASON_CODES)[number];
export type RecordReasonCode = (typeof RECORD_REASON_CODES)[number];

/** A record that cannot be used; `path` names the offending field when there is one (e.g. `turns[2].logprobs`). */
export class RecordError extends PrismError {
  declare readonly code: RecordReasonCode;
  readonly path: string | undefined;

  constructor(code: RecordReasonCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(code, message, options);
    this.path = options?.path;
  }
}

/** The bytes could not be turned into a record of the expected schema. */
export class DecodeError extends RecordError {
  constructor(code: DecodeReasonCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(code, message, options);
  }
}

/** The record decoded but breaks a rule (see validate.ts). */
export class ValidationError extends RecordError {
  constructor(code: ValidationReasonCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(code, message, options);
  }
}

export function isRecordError(err: unknown): err is RecordError {
  return err instanceof RecordError;
}

/**
 * Infrastructure problems with schemas (registry down, registry.json missing or stale). Not a
 * record problem: do not dead-letter, retry or fail the process.
 */
export const SCHEMA_REGISTRY_ERROR_CODES = [
  'REGISTRY_UNREACHABLE',
  'REGISTRY_HTTP_ERROR',
  'REGISTRY_SCHEMA_NOT_REGISTERED',
  'REGISTRY_FILE_INVALID',
  'REGISTRY_FILE_STALE',
] as const;
export type SchemaRegistryErrorCode = (typeof SCHEMA_REGISTRY_ERROR_CODES)[number];

export class SchemaRegistryError extends PrismError {
  declare readonly code: SchemaRegistryErrorCode;

  constructor(code: SchemaRegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
