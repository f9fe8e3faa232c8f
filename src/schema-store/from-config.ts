import type { SchemaRegistryConfig } from '../config/input.ts';
import { HttpSchemaRegistry } from './http-registry.ts';
import type { SchemaRegistry } from '../schemas/registry.ts';
import { openLocalRegistry } from './registry-file.ts';

/** The registry the config asks for: HTTP when `url` is set, else the local registry.json. */
export function createSchemaRegistry(cfg: Partial<SchemaRegistryConfig> = {}): SchemaRegistry {
  if (cfg.url)
    return new HttpSchemaRegistry({ url: cfg.url, autoRegister: cfg.autoRegister, timeoutMs: cfg.timeoutMs });
  return openLocalRegistry(cfg.localFile);
}
