/**
 * Schemas outside the process (the adapter of src/schemas/): the .avsc and registry.json files, the HTTP
 * Schema Registry, and the registry the configuration asks for.
 */
export { schemasDir, loadSourceTypes } from './sources.ts';
export { defaultRegistryPath, readRegistryFile, openLocalRegistry } from './registry-file.ts';
export { HttpSchemaRegistry, type HttpSchemaRegistryOptions } from './http-registry.ts';
export { createSchemaRegistry } from './from-config.ts';
