/**
 * The record schemas prism-stream reads and writes (one .avsc file each under schemas/). A module of
 * its own so CLI option parsers can list the kinds without loading avsc and the schema files.
 */
export const SCHEMA_KINDS = ['trajectory', 'scored-trajectory', 'model-update'] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];
