import type { InputConfig } from '../config/input.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';

/** CLI flags that override the `input` config section. */
export interface InputFlags {
  /** YAML config file (--config; falls back to PRISM_CONFIG). */
  config?: string;
  format?: string;
  registryUrl?: string;
  registryFile?: string;
}

/**
 * The `input` section for a record command (produce, consume, convert, schemas list):
 * defaults < YAML config < PRISM_INPUT_* environment < flags.
 */
export function loadInputConfig(flags: InputFlags = {}): InputConfig {
  const cfg = structuredClone(loadConfig({ file: flags.config }).input);
  if (flags.format !== undefined) {
    if (flags.format !== 'avro' && flags.format !== 'json') {
      throw new ConfigError(`--format must be avro or json, got ${flags.format}`);
    }
    cfg.format = flags.format;
  }
  if (flags.registryUrl !== undefined) cfg.schemaRegistry.url = flags.registryUrl;
  if (flags.registryFile !== undefined) cfg.schemaRegistry.localFile = flags.registryFile;
  return cfg;
}
