/**
 * Hugging Face model folders on disk: config.json plus model.safetensors, or several *.safetensors
 * shards listed by model.safetensors.index.json. Weights come back as float32 arrays by HF name,
 * checked against the shapes the config implies (the checks are src/model/hf-folder.ts's; this
 * module only reads and writes the files).
 */
import { readFile, writeFile, mkdir, access, rename, open, type FileHandle } from 'node:fs/promises';
import { readSync } from 'node:fs';
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
  checkEntry,
  type ModelFolder,
} from '../model/hf-folder.ts';
import {
  decodeTensor,
  headerLength,
  parseHeader,
  parseSafetensors,
  type HeaderEntry,
} from '../model/safetensors.ts';
import type { WeightSource } from '../model/weights.ts';

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

/** A folder's weights read one tensor at a time (`get`), for as long as the files are open. */
export interface OpenedWeights {
  config: ModelConfig;
  weights: WeightSource;
  close(): Promise<void>;
}

interface OpenFile {
  handle: FileHandle;
  entries: Map<string, HeaderEntry>;
  dataStart: number;
}

async function openWeightFile(path: string): Promise<OpenFile> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const first8 = new Uint8Array(8);
    await handle.read(first8, 0, 8, 0);
    const json = new Uint8Array(headerLength(first8, size, path));
    await handle.read(json, 0, json.byteLength, 8);
    const { entries, dataStart } = parseHeader(json, size, path);
    return { handle, entries, dataStart };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads bytes [from, from + n) of an open file into a fresh buffer (in pieces: one read is < 2 GiB). */
function readRange(fd: number, from: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const got = readSync(fd, out, at, Math.min(n - at, 2 ** 30), from + at);
    if (got === 0) throw new ModelError('SAFETENSORS_CORRUPT', `unexpected end of file at byte ${from + at}`);
    at += got;
  }
  return out;
}

/**
 * Opens a folder's weights for a model to take tensor by tensor: headers are read and every tensor the
 * config needs is checked (name, shape) now; `get` reads and decodes one tensor's bytes from its file.
 * Unlike readModelFolder, no shard is ever held whole in memory, and a tensor's bytes can be collected
 * as soon as the model has taken them, so loading peaks near the model's own size.
 */
export async function openModelWeights(dir: string): Promise<OpenedWeights> {
  const config = await readModelConfig(dir);
  const { owner } = await weightFiles(dir);
  const byFile = specsByFile(config, owner, dir);
  const files = new Map<string, OpenFile>();
  const close = async (): Promise<void> => {
    await Promise.all([...files.values()].map((f) => f.handle.close()));
    files.clear();
  };
  try {
    for (const [path, wanted] of byFile) {
      const f = await openWeightFile(path);
      files.set(path, f);
      for (const s of wanted) checkEntry(f.entries, s, path);
    }
  } catch (err) {
    await close();
    throw err;
  }
  const weights: WeightSource = {
    get(name: string): Float32Array | undefined {
      const path = owner(name);
      const f = path === undefined ? undefined : files.get(path);
      const e = f?.entries.get(name);
      if (f === undefined || e === undefined) return undefined;
      const bytes = readRange(f.handle.fd, f.dataStart + e.begin, e.end - e.begin);
      return decodeTensor(bytes, e.dtype, `${path}: tensor "${name}"`, true);
    },
  };
  return { config, weights, close };
}
