/** Schema files on disk (the adapter of src/schemas/): the .avsc sources, registry.json, the configured registry. */
export { schemasDir, loadSourceTypes } from './sources.ts';
export { defaultRegistryPath, readRegistryFile, openLocalRegistry } from './registry-file.ts';
export { createSchemaRegistry } from './from-config.ts';
