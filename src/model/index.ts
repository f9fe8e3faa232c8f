export * from './llama.ts';
export { parseModelConfig, configToJson, presetConfig, PRESETS, ARCHS, MODEL_TYPES } from './config.ts';
export type { Arch, Preset, ModelType, RopeScaling, LayerType } from './config.ts';
export { ModelError, type ModelErrorCode } from './errors.ts';
export { CONFIG_FILE, WEIGHTS_FILE, INDEX_FILE, TOKENIZER_FILES, type ModelFolder } from './hf-folder.ts';
export { setLinearMode, type LinearMode } from './linear.ts';
export { countParameters, weightSpecs, projectionDims } from './weights.ts';
