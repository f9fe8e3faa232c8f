/** One registered schema version. */
export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  /** Self-contained Avro schema JSON text. */
  schema: string;
}

/**
 * Where schema ids come from: the local schemas/registry.json (LocalSchemaRegistry) or a
 * Confluent-compatible Schema Registry over HTTP (HttpSchemaRegistry). Ids are immutable, so
 * implementations cache them forever.
 */
export interface SchemaRegistry {
  /** Human-readable source, for logs ("file:/…/registry.json", "http://…"). */
  readonly source: string;
  /** Subject that `recordName` is registered under when written to `topic`. */
  subjectFor(topic: string | undefined, recordName: string): string;
  /** Id of `schema` (canonical JSON text) under `subject`; registers it when the implementation may. */
  idFor(subject: string, schema: string): Promise<number>;
  /** Schema text for an id; throws DecodeError DECODE_UNKNOWN_SCHEMA_ID when the id is not registered. */
  schemaById(id: number): Promise<string>;
  /** Every subject's versions (for `prism schemas list`). */
  list(): Promise<SubjectVersion[]>;
}
