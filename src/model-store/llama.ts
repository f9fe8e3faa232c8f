/** LlamaModel ↔ model folder: load a folder into a model, save a model (and its tokenizer files) to one. */
import { copyFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKENIZER_FILES } from '../model/hf-folder.ts';
import { LlamaModel } from '../model/llama.ts';
import { openModelWeights, writeModelFolder } from './folder.ts';
import { collectGarbage } from './collect-garbage.ts';

export async function loadModel(dir: string): Promise<LlamaModel> {
  const opened = await openModelWeights(dir);
  try {
    return new LlamaModel(opened.config, opened.weights, dir);
  } finally {
    await opened.close();
    collectGarbage();
  }
}

/** Writes config.json + fp32 model.safetensors (+ tokenizer files of the source folder, if any). */
export async function saveModel(model: LlamaModel, dir: string): Promise<void> {
  await writeModelFolder(dir, model.config, await model.weightArrays());
  if (model.sourceDir === null || model.sourceDir === dir) return;
  for (const f of TOKENIZER_FILES) {
    const from = join(model.sourceDir, f);
    try {
      await access(from);
    } catch {
      continue;
    }
    await copyFile(from, join(dir, f));
  }
}
