/**
 * BENCHMARKS.md's PyTorch-on-GPU section (src/bench/report/torch-gpu-section.ts, issue 18): renders
 * torch_check.py rows per path with TFLOP/s share of the row dtype's peak, the service ÷ loop ratio
 * and norm agreement, keeps "oom" rows as oom, and renders the bf16-vs-fp32 agreement table.
 * The numbers below are test fixtures, not measurements.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuSection, readGpuResults } from '../../src/bench/report/gpu-section.ts';
import { generateReport } from '../../src/bench/report/report.ts';
import { torchGpuSection, type TorchGpuDoc } from '../../src/bench/report/torch-gpu-section.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-torch-gpu-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = (traj: number, tflops: number): TorchGpuDoc['rows'][number]['service'] => ({
  status: 'ok',
  traj_per_s: traj,
  tokens_per_s: traj * 1000,
  peak_gpu_mib: 1234.4,
  tflops,
  fraction_of_peak: 0.999, // ignored: the share is recomputed from the dtype's peak
});

const doc: TorchGpuDoc = {
  meta: {
    device: 'Fixture GPU',
    started_utc: '2026-01-01T00:00:00Z',
    torch: '9.9',
    transformers: '1.0',
    command: 'torch_check.py --out X',
    reference_peaks_tflops: { fp32: 50, bf16: 500 },
    projections: ['q_proj', 'o_proj'],
  },
  rows: [
    {
      model: '0.5B',
      dtype: 'bf16',
      T: 1000,
      B: 4,
      service: ok(3, 100),
      paper_loop: ok(2, 50),
      speedup_service_vs_loop: 1.5,
      service_vs_loop_max_rel_diff: 0.00125,
    },
    { model: '8B', dtype: 'fp32', T: 8000, B: 1, service: { status: 'oom' }, paper_loop: ok(0.5, 10) },
  ],
  agreement: [
    {
      model: '0.5B',
      T: 'varied 1/4..1 of max',
      max_T: 1024,
      trajectories: 48,
      norm_rel_err_median: 0.0016,
      norm_rel_err_max: 0.0142,
      gini_abs_err_max: 0.0005,
      gini_spearman: 0.9993,
      gini_half_agreement: 1,
    },
  ],
  errors: [],
};

const line = (md: string, start: string, path: string): string =>
  md.split('\n').find((l) => l.startsWith(start) && l.includes(`| ${path} |`)) ?? '';

describe('BENCHMARKS.md PyTorch GPU section (issue 18)', () => {
  it('is empty without a torch_check document', () => {
    expect(torchGpuSection(undefined)).toBe('');
  });

  it('renders both paths with figures, dtype-peak share, ratio and agreement', () => {
    const md = torchGpuSection(doc);
    expect(md).toMatch(/^## 7\. GPU: the PyTorch scorer service/);
    expect(md).toMatch(/Run 2026-01-01T00:00:00Z on Fixture GPU \(torch 9\.9, transformers 1\.0/);
    expect(md).toMatch(/fp32 50 TFLOP\/s, bf16 500 TFLOP\/s/);
    expect(line(md, '| 0.5B | bf16 | 1000 | 4', 'service (batched)')).toBe(
      '| 0.5B | bf16 | 1000 | 4 | service (batched) | ok | 3 | 3000 | 1234 MiB | 100.0 | 20.0 % | 1.50× | 1.3e-3 |',
    );
    expect(line(md, '| 0.5B | bf16 | 1000 | 4', 'paper loop')).toBe(
      '| 0.5B | bf16 | 1000 | 4 | paper loop | ok | 2 | 2000 | 1234 MiB | 50.0 | 10.0 % |  |  |',
    );
  });

  it('keeps an out-of-memory service row as oom, with no ratio, next to the loop that fitted', () => {
    const md = torchGpuSection(doc);
    expect(line(md, '| 8B | fp32 | 8000 | 1', 'service (batched)')).toBe(
      '| 8B | fp32 | 8000 | 1 | service (batched) | oom | — | — | — | — | — | — | — |',
    );
    // fp32 row: share of the fp32 peak (10 / 50).
    expect(line(md, '| 8B | fp32 | 8000 | 1', 'paper loop')).toMatch(
      /\| ok \| 0\.5 \| 500 \| 1234 MiB \| 10\.0 \| 20\.0 % \|/,
    );
  });

  it('renders the bf16-vs-fp32 agreement table', () => {
    const md = torchGpuSection(doc);
    expect(md).toContain(
      '| 0.5B | varied 1/4..1 of max (max 1024) | 48 | 1.6e-3 | 1.4e-2 | 5.0e-4 | 0.999 | 100 % |',
    );
    expect(torchGpuSection({ ...doc, agreement: [] })).not.toMatch(/bf16 vs fp32/);
  });

  it('generateReport appends the section after the webgpu one, which points to it', async () => {
    writeFileSync(join(dir, 'gpu-torch-fixture.json'), JSON.stringify(doc));
    writeFileSync(join(dir, 'torch.quick.json'), readFileSync('bench/results/torch.quick.json', 'utf8'));
    const g = await readGpuResults(dir);
    expect(gpuSection(g)).toMatch(/not yet measured.*reported in section 7/);
    const out = join(dir, 'BENCHMARKS.md');
    // No hand-written sections (bench/hand-written/), so section 7 ends the page.
    await generateReport({
      resultsDir: dir,
      out,
      plots: false,
      handWrittenDir: join(dir, 'no-hand-written'),
    });
    const md = readFileSync(out, 'utf8');
    const webgpu = md.indexOf('## 6. GPU: webgpu');
    const torch = md.indexOf('## 7. GPU: the PyTorch scorer service');
    expect(webgpu).toBeGreaterThan(0);
    expect(torch).toBeGreaterThan(webgpu);
    expect(md.endsWith('| 100 % |\n')).toBe(true);
  });
});
