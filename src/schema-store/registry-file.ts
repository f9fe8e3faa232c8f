/** schemas/registry.json on disk: its path, reading it, and a LocalSchemaRegistry over it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistryError } from '../schemas/errors.ts';
import { LocalSchemaRegistry, parseRegistryFile, type RegistryFile } from '../schemas/local-registry.ts';
import { schemasDir } from './sources.ts';

export function defaultRegistryPath(): string {
  return join(schemasDir(), 'registry.json');
}

export function readRegistryFile(path: string): RegistryFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SchemaRegistryError(
      'REGISTRY_FILE_INVALID',
      `cannot read schema registry file ${path} (run \`prism schemas build\`): ${String(err)}`,
      { cause: err },
    );
  }
  return parseRegistryFile(text, path);
}

/** The local registry of a registry.json (default: the repository's schemas/registry.json). */
export function openLocalRegistry(path: string = defaultRegistryPath()): LocalSchemaRegistry {
  return new LocalSchemaRegistry(readRegistryFile(path), `file:${path}`);
}
