/**
 * The reader schemas prism decodes into: the latest version of each kind in the bundled
 * schemas/registry.json, imported as a JSON module (values, no file reading here). `prism schemas
 * build` appends a version there whenever a schemas/*.avsc changes, and
 * tests/unit/schemas-registry.test.ts fails when the file lags behind the sources.
 */
import type { Type } from 'avsc';
import bundledRegistry from '../../schemas/registry.json' with { type: 'json' };
import { SCHEMA_KINDS, parseSchema, type SchemaKind } from './catalog.ts';
import { SchemaRegistryError } from './errors.ts';
import { checkRegistryFile, latestSchemas, type RegistryFile } from './local-registry.ts';

/** schemas/registry.json as shipped with this build, checked. */
export function bundledRegistryFile(): RegistryFile {
  return checkRegistryFile(bundledRegistry, 'schemas/registry.json');
}

let readers: Record<SchemaKind, Type> | undefined;

/** The current (reader) schemas, parsed once. */
export function readerTypes(): Record<SchemaKind, Type> {
  if (readers) return readers;
  const latest = latestSchemas(bundledRegistryFile());
  const out = {} as Record<SchemaKind, Type>;
  for (const kind of SCHEMA_KINDS) {
    const schema = latest[kind];
    if (!schema) {
      throw new SchemaRegistryError(
        'REGISTRY_FILE_STALE',
        `schemas/registry.json has no ${kind} schema: run \`prism schemas build\``,
      );
    }
    out[kind] = parseSchema(schema);
  }
  readers = out;
  return out;
}
