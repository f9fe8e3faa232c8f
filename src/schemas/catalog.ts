import avro from 'avsc';
import type { Schema, Type } from 'avsc';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SchemaRegistryError } from './errors.ts';
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
 * The repository's schemas/ folder. Found by walking up from this module, so it works from src/
 * (tsx) and from dist/src/ (built) alike.
 */
export function schemasDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schemas');
    if (existsSync(join(candidate, SCHEMA_FILES.trajectory))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new SchemaRegistryError(
        'REGISTRY_FILE_INVALID',
        'cannot find the schemas/ folder above ' + import.meta.url,
      );
    }
    dir = parent;
  }
}

/** Parses the .avsc sources of `dir` into avsc types (named types shared, so references resolve). */
export function loadSourceTypes(dir: string = schemasDir()): Record<SchemaKind, Type> {
  const registry: Record<string, Type> = {};
  const out = {} as Record<SchemaKind, Type>;
  for (const kind of SCHEMA_KINDS) {
    const file = join(dir, SCHEMA_FILES[kind]);
    let schema: unknown;
    try {
      schema = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new SchemaRegistryError('REGISTRY_FILE_INVALID', `cannot read schema ${file}: ${String(err)}`, {
        cause: err,
      });
    }
    out[kind] = avro.Type.forSchema(schema as Schema, typeOptions(registry));
  }
  return out;
}

let bundled: Record<SchemaKind, Type> | undefined;

/** The current (reader) schemas from the repository's schemas/*.avsc, parsed once. */
export function readerTypes(): Record<SchemaKind, Type> {
  bundled ??= loadSourceTypes();
  return bundled;
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
