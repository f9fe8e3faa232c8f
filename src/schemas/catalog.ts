import avro from 'avsc';
import type { Schema, Type } from 'avsc';
import { typeOptions } from './logical-types.ts';
import type { ModelUpdate, ScoredTrajectory, Trajectory } from './types.ts';
import { SCHEMA_KINDS, type SchemaKind } from './kinds.ts';

export { SCHEMA_KINDS, type SchemaKind } from './kinds.ts';

export interface RecordOf {
  trajectory: Trajectory;
  'scored-trajectory': ScoredTrajectory;
  'model-update': ModelUpdate;
}

/** Avro full name of each kind; also the subject name in the local registry (RecordNameStrategy). */
export const SCHEMA_FULLNAMES: Readonly<Record<SchemaKind, string>> = {
  trajectory: 'ai.prism.Trajectory',
  'scored-trajectory': 'ai.prism.ScoredTrajectory',
  'model-update': 'ai.prism.ModelUpdate',
};

/** Source files, in dependency order (scored-trajectory.avsc references ai.prism.Trajectory). */
export const SCHEMA_FILES: Readonly<Record<SchemaKind, string>> = {
  trajectory: 'trajectory.avsc',
  'scored-trajectory': 'scored-trajectory.avsc',
  'model-update': 'model-update.avsc',
};

export function isSchemaKind(s: string): s is SchemaKind {
  return (SCHEMA_KINDS as readonly string[]).includes(s);
}

export function kindOfFullName(fullName: string | undefined): SchemaKind | undefined {
  return SCHEMA_KINDS.find((k) => SCHEMA_FULLNAMES[k] === fullName);
}

/**
 * Parses the .avsc sources (parsed JSON, by kind) into avsc types, in SCHEMA_KINDS order with named
 * types shared, so references resolve (src/schema-store/sources.ts reads the files).
 */
export function typesFromSources(sources: Readonly<Record<SchemaKind, unknown>>): Record<SchemaKind, Type> {
  const registry: Record<string, Type> = {};
  const out = {} as Record<SchemaKind, Type>;
  for (const kind of SCHEMA_KINDS)
    out[kind] = avro.Type.forSchema(sources[kind] as Schema, typeOptions(registry));
  return out;
}

/**
 * Self-contained schema JSON (named types inlined, docs, defaults and logical types kept):
 * what goes into registry.json, a Schema Registry and Avro file headers.
 */
export function canonicalSchema(type: Type): string {
  return JSON.stringify(type.schema({ exportAttrs: true }));
}

/** Parses a self-contained schema (e.g. fetched from a registry) with prism's logical types. */
export function parseSchema(schema: string | object): Type {
  const parsed: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  return avro.Type.forSchema(parsed as Schema, typeOptions({}));
}
