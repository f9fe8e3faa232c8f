/**
 * Hugging Face model folders on disk: config.json plus model.safetensors, or several *.safetensors
 * shards listed by model.safetensors.index.json. Weights come back as float32 arrays by HF name,
 * checked against the shapes the config implies.
 */
import { readFile, writeFile, mkdir, access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseModelConfig, configToJson, type ModelConfig } from './config.ts';
import { ModelError } from './errors.ts';
import { parseSafetensors, encodeSafetensors, type SafetensorsFile } from './safetensors.ts';
import { weightSpecs } from './weights.ts';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export interface ModelFolder {
  config: ModelConfig;
  /** Every tensor of weightSpecs(config), float32, HF layout. */
  weights: Map<string, Float32Array>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ModelError('MODEL_FILE_MISSING', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const path = join(dir, CONFIG_FILE);
  if (!(await exists(path)))
    throw new ModelError('MODEL_FILE_MISSING', `model folder ${dir} has no ${CONFIG_FILE}`);
  return parseModelConfig(await readJson(path));
}

/** The weight files of a folder and which tensor lives in which file. */
async function weightFiles(
  dir: string,
): Promise<{ files: string[]; owner: (name: string) => string | undefined }> {
  const single = join(dir, WEIGHTS_FILE);
  if (await exists(single)) return { files: [single], owner: () => single };
  const indexPath = join(dir, INDEX_FILE);
  if (!(await exists(indexPath))) {
    throw new ModelError(
      'MODEL_FILE_MISSING',
      `model folder ${dir} has neither ${WEIGHTS_FILE} nor ${INDEX_FILE}`,
    );
  }
  const index = (await readJson(indexPath)) as { weight_map?: Record<string, string> };
  const map = index.weight_map;
  if (typeof map !== 'object' || map === null) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${indexPath} has no "weight_map" object`);
  }
  const files = [...new Set(Object.values(map))].map((f) => join(dir, f));
  for (const f of files) {
    if (!(await exists(f)))
      throw new ModelError('MODEL_FILE_MISSING', `shard ${f} listed in ${INDEX_FILE} is missing`);
  }
  return { files, owner: (name) => (map[name] === undefined ? undefined : join(dir, map[name])) };
}

/** Loads config and weights (fp32/fp16/bf16/f64 → fp32). Tensors the config does not use are ignored. */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const config = await readModelConfig(dir);
  const { files, owner } = await weightFiles(dir);
  const specs = weightSpecs(config);
  const byFile = new Map<string, typeof specs>();
  for (const s of specs) {
    const f = owner(s.name);
    if (f === undefined)
      throw new ModelError('MISSING_TENSOR', `${dir}: tensor "${s.name}" is not in ${INDEX_FILE}`);
    byFile.set(f, [...(byFile.get(f) ?? []), s]);
  }
  const weights = new Map<string, Float32Array>();
  for (const f of files) {
    const wanted = byFile.get(f);
    if (!wanted) continue;
    // One shard in memory at a time.
    const st: SafetensorsFile = parseSafetensors(await readFile(f), f);
    for (const s of wanted) {
      const e = st.entries.get(s.name);
      if (!e)
        throw new ModelError('MISSING_TENSOR', `${f}: tensor "${s.name}" is missing (needed by config.json)`);
      if (e.shape.length !== s.shape.length || e.shape.some((d, i) => d !== s.shape[i])) {
        throw new ModelError(
          'SHAPE_MISMATCH',
          `${f}: tensor "${s.name}" has shape [${e.shape.join(', ')}], config.json implies [${s.shape.join(', ')}]`,
        );
      }
      weights.set(s.name, st.read(s.name));
    }
  }
  return { config, weights };
}

/**
 * Writes config.json and one fp32 model.safetensors (HF names, `lm_head.weight` only when untied).
 * Files are written under a temporary name and renamed, so a reader never sees half a checkpoint.
 */
export async function writeModelFolder(
  dir: string,
  config: ModelConfig,
  weights: Map<string, Float32Array>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = weightSpecs(config).map((s) => {
    const data = weights.get(s.name);
    if (!data) throw new ModelError('MISSING_TENSOR', `cannot save: tensor "${s.name}" is missing`);
    return { name: s.name, shape: s.shape, data };
  });
  const bytes = encodeSafetensors(tensors, { metadata: { format: 'pt' } });
  const weightsPath = join(dir, WEIGHTS_FILE);
  await writeFile(`${weightsPath}.tmp`, bytes);
  await rename(`${weightsPath}.tmp`, weightsPath);
  const configPath = join(dir, CONFIG_FILE);
  await writeFile(`${configPath}.tmp`, `${JSON.stringify(configToJson(config), null, 2)}\n`);
  await rename(`${configPath}.tmp`, configPath);
}
