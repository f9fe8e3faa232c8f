import type { BackendInfo } from '../select.ts';
import type { AgreementResult } from './agreement.ts';
import type { GpuRow } from './bench.ts';

/** What gpu-check.mjs writes (bench/results/gpu-webgpu.json once copied back). */
export interface GpuCheckResult {
  kind: 'gpu-webgpu';
  status: 'running' | 'done' | 'no-gpu' | 'error';
  reason?: string;
  startedAt: string;
  finishedAt?: string;
  budgetS: number;
  node: string;
  backend?: BackendInfo;
  peakFp32Tflops: number;
  peakSource: string;
  agreement: AgreementResult[];
  rows: GpuRow[];
}
