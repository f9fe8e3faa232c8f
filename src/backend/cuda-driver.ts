import { readFileSync } from 'node:fs';
import { PrismError } from '../errors.ts';

/**
 * The NVIDIA driver check for tensorflow-gpu on CUDA libraries from PyPI (`setup:native -- --gpu
 * --cuda-from-pypi`): CUDA 12 runtimes need a driver ≥ 525.60.13 (minor-version compatibility); bin/prism.mjs
 * passes the manifest's minimum as PRISM_CUDA_MIN_DRIVER when it re-executes with those libraries.
 */
export class CudaDriverError extends PrismError {
  constructor(found: string, needed: string) {
    super(
      'CUDA_DRIVER_TOO_OLD',
      `NVIDIA driver ${found} is older than ${needed}, which the CUDA 12 libraries from PyPI need: update the driver (or use another backend)`,
      { exitCode: 2 },
    );
  }
}

/** "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  …" → "580.95.05". Pure. */
export function parseDriverVersion(procText: string): string | undefined {
  return /Kernel Module\s+(?:for \S+\s+)?(\d+(?:\.\d+)+)/.exec(procText)?.[1];
}

/** Numeric dotted-version comparison: negative when a < b. Pure. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Throws CudaDriverError when `found` is older than `needed`. Pure. */
export function assertDriver(found: string, needed: string): void {
  if (compareVersions(found, needed) < 0) throw new CudaDriverError(found, needed);
}

/** The loaded kernel module's version, or undefined without an NVIDIA driver. */
export function installedDriverVersion(path = '/proc/driver/nvidia/version'): string | undefined {
  try {
    return parseDriverVersion(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
