import { PrismError } from '../errors.ts';

/** Stable reason codes for model loading, saving and configuration problems. */
export type ModelErrorCode =
  | 'MODEL_FILE_MISSING'
  | 'MODEL_CONFIG_INVALID'
  | 'UNKNOWN_MODEL_TYPE'
  | 'UNSUPPORTED_MODEL_FEATURE'
  | 'UNSUPPORTED_DTYPE'
  | 'SAFETENSORS_CORRUPT'
  | 'MISSING_TENSOR'
  | 'SHAPE_MISMATCH'
  | 'BAD_FORWARD_INPUT';

/** A model folder, weight file or forward call that cannot be used; the message names the file/tensor/field. */
export class ModelError extends PrismError {
  declare readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    // Bad model folders are a configuration problem of the operator: exit code 2 like ConfigError.
    super(code, message, { ...options, exitCode: code === 'BAD_FORWARD_INPUT' ? 1 : 2 });
  }
}
