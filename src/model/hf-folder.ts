/**
 * The Hugging Face model folder format, as values: file names, config.json and index parsing, which
 * tensor lives in which weight file, shape checks, and the bytes a save writes. Pure: the adapter in
 * src/model-store/ reads and writes the files and hands the bytes and texts in.
 */
import { parseModelConfig, configToJson, type ModelConfig } from './config.ts';
import { ModelError } from './errors.ts';
import { encodeSafetensors, type HeaderEntry, type SafetensorsFile } from './safetensors.ts';
import { weightSpecs, type WeightSpec } from './weights.ts';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Files copied along when a model loaded from a folder is saved elsewhere. */
export const TOKENIZER_FILES: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
];

export interface ModelFolder {
  config: ModelConfig;
  /** Every tensor of weightSpecs(config), float32, HF layout. */
  weights: Map<string, Float32Array>;
}

/** JSON text of a folder file; `path` names it in the error. */
export function parseFolderJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** config.json text → a checked ModelConfig. */
export function parseConfigText(text: string, path: string): ModelConfig {
  return parseModelConfig(parseFolderJson(text, path));
}

/** The `weight_map` of model.safetensors.index.json: tensor name → shard file name. */
export function parseWeightMap(index: unknown, indexPath: string): Record<string, string> {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${indexPath} has no "weight_map" object`);
  }
  return map as Record<string, string>;
}

/** The shard file names a weight map lists, each once, in first-seen order. */
export function shardNames(map: Record<string, string>): string[] {
  return [...new Set(Object.values(map))];
}

/**
 * The tensors the config needs, grouped by the file that holds each (`owner(name)`; undefined when
 * the index does not list it → MISSING_TENSOR naming `dir`).
 */
export function specsByFile(
  config: ModelConfig,
  owner: (name: string) => string | undefined,
  dir: string,
): Map<string, WeightSpec[]> {
  const byFile = new Map<string, WeightSpec[]>();
  for (const s of weightSpecs(config)) {
    const f = owner(s.name);
    if (f === undefined)
      throw new ModelError('MISSING_TENSOR', `${dir}: tensor "${s.name}" is not in ${INDEX_FILE}`);
    byFile.set(f, [...(byFile.get(f) ?? []), s]);
  }
  return byFile;
}

/** Checks that `entries` (one weight file's header) holds tensor `s` with the shape the config implies. */
export function checkEntry(entries: ReadonlyMap<string, HeaderEntry>, s: WeightSpec, file: string): void {
  const e = entries.get(s.name);
  if (!e)
    throw new ModelError('MISSING_TENSOR', `${file}: tensor "${s.name}" is missing (needed by config.json)`);
  if (e.shape.length !== s.shape.length || e.shape.some((d, i) => d !== s.shape[i])) {
    throw new ModelError(
      'SHAPE_MISMATCH',
      `${file}: tensor "${s.name}" has shape [${e.shape.join(', ')}], config.json implies [${s.shape.join(', ')}]`,
    );
  }
}

/** Copies the `wanted` tensors of one parsed weight file into `into` (fp32), checking names and shapes. */
export function takeTensors(
  st: SafetensorsFile,
  wanted: readonly WeightSpec[],
  file: string,
  into: Map<string, Float32Array>,
): void {
  for (const s of wanted) {
    checkEntry(st.entries, s, file);
    into.set(s.name, st.read(s.name));
  }
}

/** What a save writes: one fp32 model.safetensors (HF names, `lm_head.weight` only when untied) and config.json. */
export function encodeModelFolder(
  config: ModelConfig,
  weights: Map<string, Float32Array>,
): { weights: Uint8Array; config: string } {
  const tensors = weightSpecs(config).map((s) => {
    const data = weights.get(s.name);
    if (!data) throw new ModelError('MISSING_TENSOR', `cannot save: tensor "${s.name}" is missing`);
    return { name: s.name, shape: s.shape, data };
  });
  return {
    weights: encodeSafetensors(tensors, { metadata: { format: 'pt' } }),
    config: `${JSON.stringify(configToJson(config), null, 2)}\n`,
  };
}
