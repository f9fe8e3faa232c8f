import type { SchemaRegistryConfig } from '../config/input.ts';
import { HttpSchemaRegistry } from './http-registry.ts';
import { LocalSchemaRegistry } from './local-registry.ts';
import type { SchemaRegistry } from './registry.ts';

/** The registry the config asks for: HTTP when `url` is set, else the local registry.json. */
export function createSchemaRegistry(cfg: Partial<SchemaRegistryConfig> = {}): SchemaRegistry {
  if (cfg.url)
    return new HttpSchemaRegistry({ url: cfg.url, autoRegister: cfg.autoRegister, timeoutMs: cfg.timeoutMs });
  return LocalSchemaRegistry.fromFile(cfg.localFile);
}
