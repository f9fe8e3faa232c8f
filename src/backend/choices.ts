/**
 * The tfjs backend names, without loading tfjs: CLI option parsers and config schemas import these at
 * start-up, and `@tensorflow/tfjs` alone costs ~0.5 s of CPU (select.ts loads it when a backend is chosen).
 */
export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendKind = Exclude<BackendChoice, 'auto'>;

/** Fastest first. */
export const AUTO_ORDER: readonly BackendKind[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];
