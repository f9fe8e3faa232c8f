/**
 * BENCHMARKS.md's GPU section (src/bench/report/gpu-section.ts): says plainly when GPU figures are not
 * measured, reports a "no-gpu" check as such, and renders a finished check's rows with the PyTorch
 * ratio only where the shape, T and fp32 match. The numbers below are test fixtures, not measurements.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GpuCheckResult } from '../../src/backend/gpucheck/result.ts';
import { gpuSection, readGpuResults, type TorchCheckDoc } from '../../src/bench/report/gpu-section.ts';
import { generateReport } from '../../src/bench/report/report.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-gpu-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function done(): GpuCheckResult {
  return {
    kind: 'gpu-webgpu',
    status: 'done',
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:04:00Z',
    budgetS: 240,
    node: 'v20.20.2',
    backend: {
      kind: 'webgpu',
      tfBackend: 'webgpu',
      gpu: true,
      attempts: [],
      adapter: {
        vendor: 'fixture-vendor',
        architecture: 'fixture-arch',
        device: '',
        description: 'Fixture GPU',
        fallback: false,
      },
    },
    peakFp32Tflops: 67,
    peakSource: 'fixture',
    agreement: [
      {
        name: 'tiny-llama',
        parameters: 1,
        batch: 4,
        seq: 128,
        referenceBackend: 'cpu',
        maxRelErr: {
          batched: { norms: 2e-6, loss: 1e-7, gini: 3e-7 },
          perTrajectory: { norms: 4e-6, loss: 1e-7, gini: 1e-7 },
        },
        pass: true,
      },
    ],
    rows: [
      {
        model: 'm500-qwen2',
        parameters: 494e6,
        batch: 16,
        seq: 2048,
        path: 'batched',
        status: 'ok',
        trajectoriesPerSec: 2,
        tokensPerSec: 4096,
        tflopPerSec: 10,
        ofFp32Peak: 10 / 67,
      },
      {
        model: 'm500-qwen2',
        parameters: 494e6,
        batch: 16,
        seq: 2048,
        path: 'per-trajectory',
        status: 'ok',
        trajectoriesPerSec: 1,
        tokensPerSec: 2048,
        tflopPerSec: 5,
        ofFp32Peak: 5 / 67,
      },
      {
        model: 'tiny',
        parameters: 0,
        batch: 16,
        seq: 2048,
        path: 'reference',
        status: 'skipped: time budget',
      },
    ],
  };
}

const torch: TorchCheckDoc = {
  meta: { device: 'Fixture GPU', torch: 'x', started_utc: '2026-01-01T00:05:00Z' },
  rows: [
    {
      model: '0.5B',
      dtype: 'fp32',
      T: 2048,
      B: 8,
      service: { status: 'ok', traj_per_s: 8 },
      paper_loop: { status: 'ok', traj_per_s: 1 },
    },
    { model: '0.5B', dtype: 'bf16', T: 2048, B: 8, service: { status: 'ok', traj_per_s: 100 } },
  ],
};

describe('BENCHMARKS.md GPU section', () => {
  it('says GPU figures are not yet measured without a result, and for a no-gpu check', () => {
    expect(gpuSection({})).toMatch(/GPU figures are not yet measured.*no `bench\/results\/gpu-webgpu.json`/);
    const noGpu = {
      ...done(),
      status: 'no-gpu' as const,
      reason: 'no hardware WebGPU adapter',
      backend: undefined,
      rows: [],
    };
    const md = gpuSection({ webgpu: noGpu });
    expect(md).toMatch(/not yet measured.*found no usable GPU adapter \(no hardware WebGPU adapter\)/);
    expect(md).not.toMatch(/traj\/s/);
  });

  it('renders agreement, rows and the fp32 PyTorch ratio only where the shape matches', () => {
    const md = gpuSection({ webgpu: done(), torch });
    expect(md).toMatch(/Adapter: fixture-vendor · fixture-arch · Fixture GPU/);
    expect(md).toMatch(/\| tiny-llama \| 4 × 128 \| 4\.0e-6 \| 1\.0e-7 \| 3\.0e-7 \| pass \|/);
    const line = (path: string): string => md.split('\n').find((l) => l.includes(`| ${path} |`)) ?? '';
    // batched vs the service's fp32 row: 2 / 8 traj/s; never the bf16 row.
    expect(line('batched')).toMatch(/\| 8 \| 0\.25× \| ok \|$/);
    // per-trajectory has no PyTorch counterpart; skipped rows stay skipped.
    expect(line('per-trajectory')).toMatch(/\| — \| — \| ok \|$/);
    expect(line('reference')).toMatch(/skipped: time budget/);
  });

  it('reads gpu-*.json from the results folder and generateReport appends the section', async () => {
    writeFileSync(join(dir, 'gpu-webgpu.json'), JSON.stringify(done()));
    writeFileSync(join(dir, 'gpu-torch.json'), JSON.stringify(torch));
    const g = await readGpuResults(dir);
    expect(g.webgpu?.kind).toBe('gpu-webgpu');
    expect(g.torch?.rows).toHaveLength(2);
    expect(await readGpuResults(join(dir, 'missing'))).toEqual({});
  });
});

it('generateReport ends BENCHMARKS.md with the GPU section', async () => {
  const d = mkdtempSync(join(tmpdir(), 'prism-gpu-report2-'));
  try {
    // generateReport needs at least one CPU result file; reuse the repository's committed results if any.
    const { existsSync, readdirSync, copyFileSync } = await import('node:fs');
    const src = join(import.meta.dirname, '..', '..', 'bench', 'results');
    const cpu = existsSync(src)
      ? readdirSync(src).filter((n) => n.endsWith('.json') && !n.startsWith('gpu-'))
      : [];
    if (cpu.length === 0) return;
    for (const n of cpu) copyFileSync(join(src, n), join(d, n));
    const out = join(d, 'BENCHMARKS.md');
    await generateReport({ resultsDir: d, out, plots: false });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(out, 'utf8')).toMatch(/## 6\. GPU[^\n]*\n\n\*\*GPU figures are not yet measured\*\*/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
