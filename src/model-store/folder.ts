/**
 * Hugging Face model folders on disk: config.json plus model.safetensors, or several *.safetensors
 * shards listed by model.safetensors.index.json. Weights come back as float32 arrays by HF name,
 * checked against the shapes the config implies (the checks are src/model/hf-folder.ts's; this
 * module only reads and writes the files).
 */
import { readFile, writeFile, mkdir, access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.ts';
import { ModelError } from '../model/errors.ts';
import {
  CONFIG_FILE,
  INDEX_FILE,
  WEIGHTS_FILE,
  encodeModelFolder,
  parseConfigText,
  parseFolderJson,
  parseWeightMap,
  shardNames,
  specsByFile,
  takeTensors,
  type ModelFolder,
} from '../model/hf-folder.ts';
import { parseSafetensors } from '../model/safetensors.ts';

export type { ModelFolder } from '../model/hf-folder.ts';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ModelError('MODEL_FILE_MISSING', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const path = join(dir, CONFIG_FILE);
  if (!(await exists(path)))
    throw new ModelError('MODEL_FILE_MISSING', `model folder ${dir} has no ${CONFIG_FILE}`);
  return parseConfigText(await readText(path), path);
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
  const map = parseWeightMap(parseFolderJson(await readText(indexPath), indexPath), indexPath);
  const files = shardNames(map).map((f) => join(dir, f));
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
  const byFile = specsByFile(config, owner, dir);
  const weights = new Map<string, Float32Array>();
  for (const f of files) {
    const wanted = byFile.get(f);
    if (!wanted) continue;
    // One shard in memory at a time.
    takeTensors(parseSafetensors(await readFile(f), f), wanted, f, weights);
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
  const encoded = encodeModelFolder(config, weights);
  const weightsPath = join(dir, WEIGHTS_FILE);
  await writeFile(`${weightsPath}.tmp`, encoded.weights);
  await rename(`${weightsPath}.tmp`, weightsPath);
  const configPath = join(dir, CONFIG_FILE);
  await writeFile(`${configPath}.tmp`, encoded.config);
  await rename(`${configPath}.tmp`, configPath);
}
