/** The repository's schemas/ folder and its .avsc sources, read from disk (for `prism schemas build`). */
import type { Type } from 'avsc';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILES, SCHEMA_KINDS, typesFromSources, type SchemaKind } from '../schemas/catalog.ts';
import { SchemaRegistryError } from '../schemas/errors.ts';

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

/** Reads and parses the .avsc sources of `dir` into avsc types (named types shared, so references resolve). */
export function loadSourceTypes(dir: string = schemasDir()): Record<SchemaKind, Type> {
  const sources = {} as Record<SchemaKind, unknown>;
  for (const kind of SCHEMA_KINDS) {
    const file = join(dir, SCHEMA_FILES[kind]);
    try {
      sources[kind] = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new SchemaRegistryError('REGISTRY_FILE_INVALID', `cannot read schema ${file}: ${String(err)}`, {
        cause: err,
      });
    }
  }
  return typesFromSources(sources);
}
