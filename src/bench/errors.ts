import { PrismError } from '../errors.ts';

/** Stable reason codes of BenchError. */
export const BENCH_ERROR_CODES = [
  'CEILING_UNAVAILABLE', // neither a C compiler + OpenBLAS nor python3 + numpy could measure sgemm
  'CHILD_FAILED', // a benchmarked child process (prism run, plain loop, python) exited early or non-zero
  'PIPELINE_STALLED', // outputs stopped arriving before every input record was seen
  'RESULTS_MISSING', // `bench report` found no result files
  'RESULTS_INVALID', // a result file is not JSON of a known kind/version
  'TORCH_UNAVAILABLE', // no python with torch + transformers (see bench/pytorch/README.md)
  'PLOT_FAILED', // vega/resvg could not render a figure
  'SHAPE_UNSUPPORTED', // a grid shape the model cannot score whole (T over max_position_embeddings)
] as const;
export type BenchErrorCode = (typeof BENCH_ERROR_CODES)[number];

export class BenchError extends PrismError {
  declare readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(code, message, options);
  }
}

/**
 * How a child process run by execFile ended, for an error message: "exited 1", or "was killed by SIGKILL
 * (out of memory? the kernel's OOM killer sends SIGKILL; see dmesg)". Empty when the error says neither.
 */
export function childEnding(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { signal?: unknown; code?: unknown };
  if (typeof e.signal === 'string' && e.signal !== '')
    return e.signal === 'SIGKILL'
      ? 'was killed by SIGKILL (out of memory? the kernel’s OOM killer sends SIGKILL; see dmesg)'
      : `was killed by ${e.signal}`;
  return typeof e.code === 'number' ? `exited ${e.code}` : '';
}
