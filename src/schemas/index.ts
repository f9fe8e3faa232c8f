/**
 * Public surface of the schemas module: record types, codecs, validation, dead letters. Reading
 * schema and registry files lives in src/schema-store/.
 */
export * from './types.ts';
export * from './errors.ts';
export {
  SCHEMA_KINDS,
  SCHEMA_FULLNAMES,
  isSchemaKind,
  canonicalSchema,
  type SchemaKind,
  type RecordOf,
} from './catalog.ts';
export { RecordCodec, AnyRecordDecoder, type CodecOptions, type Decoded, type WireFormat } from './codec.ts';
export type { SchemaRegistry, SubjectVersion } from './registry.ts';
export { readerTypes } from './bundled.ts';
export { LocalSchemaRegistry } from './local-registry.ts';
export { validateTrajectory } from './validate.ts';
export {
  buildDeadLetter,
  readDeadLetter,
  DLQ_HEADERS,
  UNEXPECTED_ERROR_CODE,
  type DeadLetterMessage,
  type RecordHeaders,
  type DeadLetterInfo,
  type SourceRecord,
} from './dead-letter.ts';
export { frame, readSchemaId, MAGIC_BYTE, HEADER_SIZE } from './wire.ts';
