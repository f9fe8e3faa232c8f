import { PrismError } from '../errors.ts';

/** Stable reason codes of `prism demo`. */
export const DEMO_ERROR_CODES = [
  'DEMO_INTERRUPTED', // Ctrl-C / SIGTERM: everything started was stopped
  'DEMO_STALLED', // no progress for too long (routing or training stopped moving)
  'DEMO_COMPONENT_FAILED', // the arbitrator or a trainer stopped with an error
  'DEMO_CACHE_INVALID', // the cached warm-start model folder is unusable
] as const;
export type DemoErrorCode = (typeof DEMO_ERROR_CODES)[number];

export class DemoError extends PrismError {
  declare readonly code: DemoErrorCode;

  constructor(code: DemoErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(code, message, { exitCode: code === 'DEMO_INTERRUPTED' ? 130 : 1, ...options });
  }
}
