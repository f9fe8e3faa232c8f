import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BenchError } from '../../src/bench/errors.ts';
import { sweepFigure } from '../../src/bench/report/figures.ts';
import { benchmarksMarkdown } from '../../src/bench/report/markdown.ts';
import { renderSvg } from '../../src/bench/report/render.ts';
import { generateReport } from '../../src/bench/report/report.ts';
import { readResult, writeResult } from '../../src/bench/results.ts';
import { fullGrid, quickGrid } from '../../src/bench/scorer-sweep.ts';
import { latencyOverTime } from '../../src/bench/soak.ts';
import { backendsResult, pipelineResult, soakResult, sweepResult, torchResult } from './bench-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-bench-report-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const flatSamples = Array.from({ length: 61 }, (_, i) => ({
  t: i * 10,
  rssBytes: 300 * 2 ** 20,
  tensors: 42,
  heapUsedBytes: 50 * 2 ** 20,
  recordsOut: i * 200,
}));

describe('benchmarksMarkdown', () => {
  it('renders a section per benchmark with its command, table and figure link', () => {
    const md = benchmarksMarkdown({
      sweep: sweepResult(),
      pipeline: pipelineResult(),
      soak: soakResult(flatSamples),
      torch: torchResult(),
      backends: backendsResult(),
      figures: { sweep: 'bench/results/plots/sweep.png' },
    });
    expect(md).toContain('`$ prism bench scorer --sweep`');
    expect(md).toContain('| tiny (0.22 M) | 8×128 | 80 |'); // batched traj/s = 8 / 100 ms
    expect(md).toContain('4.00×'); // paper loop 400 ms / batched 100 ms
    expect(md).toContain('**fp32 matmul ceiling: 100.0 GFLOP/s**');
    expect(md).toContain('![scorer sweep](bench/results/plots/sweep.png)');
    expect(md).toContain('prism run (noop) 0.75×');
    expect(md).toContain('live tensors flat');
    expect(md).toContain('tiny at 2 thread(s): ours (paper loop) 2.00×');
    expect(md).not.toContain('Not run yet');
  });

  it('says which benchmarks have not run and how to run them', () => {
    const md = benchmarksMarkdown({ sweep: sweepResult(), figures: {} });
    expect(md).toContain('## 2. Pipeline');
    expect(md).toMatch(/_Not run yet._ `prism bench pipeline`/);
    expect(md).toMatch(/_Not run yet._ `prism bench soak --minutes 30`/);
  });

  it('flags quick runs and runs on a busy machine', () => {
    const quiet = benchmarksMarkdown({ sweep: sweepResult(), figures: {} });
    expect(quiet).not.toContain('**Quick run**');
    expect(quiet).not.toContain('**Noisy:**');
    const busy = benchmarksMarkdown({
      sweep: sweepResult({ quick: true, loadStart: [7.5, 6, 5] }),
      figures: {},
    });
    expect(busy).toContain('**Quick run**');
    expect(busy).toContain('**Noisy:** the 1-minute load average (7.5 at start');
  });

  it('is a pure function of the results', () => {
    const input = { sweep: sweepResult(), pipeline: pipelineResult(), figures: {} };
    expect(benchmarksMarkdown(input)).toBe(benchmarksMarkdown(input));
  });
});

describe('soak verdict', () => {
  it('calls constant tensors and RSS flat', () => {
    const v = soakResult(flatSamples).verdict;
    expect(v).toMatchObject({ tensorsFlat: true, tensorsMin: 42, tensorsMax: 42, rssFlat: true });
  });

  it('calls a tensor count that grows after warm-up, and RSS growing 10 MiB/min, not flat', () => {
    const leaking = flatSamples.map((s, i) => ({
      ...s,
      tensors: 42 + i,
      rssBytes: (300 + (s.t / 60) * 10) * 2 ** 20,
    }));
    const v = soakResult(leaking).verdict;
    expect(v.tensorsFlat).toBe(false);
    expect(v.rssSlopeMiBPerMin).toBeCloseTo(10, 6);
    expect(v.rssFlat).toBe(false);
  });
});

describe('result files', () => {
  it('prefers a full run over a quick one and round-trips the JSON', async () => {
    await writeResult(dir, sweepResult({ quick: true, command: 'quick one' }));
    expect((await readResult(dir, 'scorer-sweep'))?.meta.command).toBe('quick one');
    await writeResult(dir, sweepResult({ command: 'full one' }));
    expect((await readResult(dir, 'scorer-sweep'))?.meta.command).toBe('full one');
  });

  it('rejects a file of another kind with RESULTS_INVALID', async () => {
    await writeFile(join(dir, 'pipeline.json'), JSON.stringify({ kind: 'soak', meta: { version: 1 } }));
    await expect(readResult(dir, 'pipeline')).rejects.toMatchObject({ code: 'RESULTS_INVALID' });
  });
});

describe('generateReport', () => {
  it('fails with RESULTS_MISSING when there is nothing to report', async () => {
    const err = await generateReport({ resultsDir: dir, out: join(dir, 'B.md'), plots: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('RESULTS_MISSING');
  });

  it('writes BENCHMARKS.md from the result files', async () => {
    await writeResult(dir, pipelineResult());
    const out = join(dir, 'docs', 'BENCHMARKS.md');
    const r = await generateReport({ resultsDir: dir, out, plots: false });
    expect(r.included).toEqual(['pipeline']);
    const md = await readFile(out, 'utf8');
    expect(md).toContain('## 2. Pipeline');
    expect(md).toContain('| prism run, tiny model | 50 | 0.03× |');
  });

  it('renders a figure to SVG that names the machine and the command', async () => {
    const svg = await renderSvg(sweepFigure(sweepResult()));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Test CPU');
    expect(svg).toContain('prism bench scorer --sweep');
  });
});

describe('soak latency over time', () => {
  it('buckets latencies by append time into ≥ 10 s buckets with their p50 and p99', () => {
    const start = 1_000_000;
    const points = [
      { appendedAt: start + 1_000, ms: 10 },
      { appendedAt: start + 2_000, ms: 30 },
      { appendedAt: start + 12_000, ms: 100 },
      { appendedAt: start - 5_000, ms: 999 }, // before the paced phase: ignored
    ];
    const r = latencyOverTime(points, start, 60);
    expect(r.bucketSeconds).toBe(10);
    expect(r.buckets).toEqual([
      { t: 0, p50: 20, p99: 29.8, n: 2 },
      { t: 10, p50: 100, p99: 100, n: 1 },
    ]);
    expect(latencyOverTime([], start, 3600).bucketSeconds).toBe(120);
  });
});

describe('sweep grids', () => {
  it('covers presets tiny, small × batch 8, 16, 32 × seq 128, 256, 512, and the quick grid is a subset', () => {
    const full = fullGrid();
    expect(full).toHaveLength(18);
    const key = (c: { preset: string; batch: number; seq: number }): string =>
      `${c.preset}/${c.batch}/${c.seq}`;
    const keys = new Set(full.map(key));
    for (const c of quickGrid()) expect(keys.has(key(c))).toBe(true);
  });
});

describe('soak verdict on shrinking memory', () => {
  it('does not call an RSS that falls after warm-up a leak', () => {
    const shrinking = Array.from({ length: 61 }, (_, i) => ({
      t: i * 10,
      rssBytes: (900 - i * 2) * 2 ** 20,
      tensors: 7,
      heapUsedBytes: null,
      recordsOut: null,
    }));
    const v = soakResult(shrinking).verdict;
    expect(v.rssSlopeMiBPerMin).toBeLessThan(0);
    expect(v.rssFlat).toBe(true);
  });
});

describe('interrupted sweep', () => {
  it('says how many configurations finished', () => {
    const md = benchmarksMarkdown({ sweep: { ...sweepResult(), planned: 18 }, figures: {} });
    expect(md).toContain('**Interrupted:** 2 of 18 configurations finished.');
  });
});
