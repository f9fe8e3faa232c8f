/** Model folders on disk (the adapter of src/model/): read, write, load into a LlamaModel, save one. */
export { readModelFolder, writeModelFolder, readModelConfig, type ModelFolder } from './folder.ts';
export { loadModel, saveModel } from './llama.ts';
