import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { benchmarksMarkdown } from '../../src/bench/report/markdown.ts';
import { generateReport } from '../../src/bench/report/report.ts';
import { readResult, writeResult } from '../../src/bench/results.ts';
import { tensorflowSpeedups } from '../../src/bench/scorer-backends.ts';
import { backendsResult, scorerBench, sweepResult } from './bench-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-bench-backends-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEAD = '## 5. Scorer across backends (tfjs-node vs wasm vs cpu)';

describe('scorer across backends section', () => {
  it('renders a row per backend and path with wall/cpu ms, traj/s, tok/s, GFLOP/s and the chosen path', () => {
    const md = benchmarksMarkdown({ backends: backendsResult(), figures: {} });
    expect(md).toContain(HEAD);
    expect(md).toContain(
      '`$ prism bench scorer --preset tiny --batch 16 --seq 128 --backends tensorflow,wasm,cpu --record`',
    );
    // tensorflow batched: 100 ms → 16 traj / 0.1 s = 160 traj/s, 2048 tok / 0.1 s = 20480 tok/s, 2 GFLOP / 100 ms.
    expect(md).toContain('| tensorflow | 2 | batched | 100 | 100 | 160 | 20480 | 0.02 |  |');
    expect(md).toContain('| wasm (simd true) | 1 | batched | 500 | 500 | 32 | 4096 | 0.00 |  |');
    expect(md).toContain('| cpu | 1 | auto → batched | 2000 | 2000 | 8 | 1024 |');
    expect(md).toContain('4.00× wall, 4.00× cpu'); // paper loop / chosen, recorded per backend
  });

  it('states the speed-up of tensorflow over wasm and cpu on the chosen path', () => {
    const md = benchmarksMarkdown({ backends: backendsResult(), figures: {} });
    expect(md).toContain(
      'Headline: tensorflow over wasm 5.00× wall, 5.00× cpu (batched path); over cpu 20.00× wall, 20.00× cpu (batched path).',
    );
  });

  it('says how to run it when no result file exists', () => {
    const md = benchmarksMarkdown({ sweep: sweepResult(), figures: {} });
    expect(md).toContain(HEAD);
    expect(md).toMatch(
      /_Not run yet._ `prism bench scorer --preset tiny --batch 16 --seq 128 --backends tensorflow,wasm,cpu --record`/,
    );
  });

  it('has no speed-up when tensorflow is not among the backends', () => {
    const wasmOnly = {
      ...scorerBench(16, 128),
      backend: { kind: 'wasm' as const, tfBackend: 'wasm', gpu: false, attempts: [] },
    };
    expect(tensorflowSpeedups([wasmOnly])).toEqual([]);
  });

  it('round-trips as scorer-backends.json and is picked up by generateReport', async () => {
    const path = await writeResult(dir, backendsResult());
    expect(path).toBe(join(dir, 'scorer-backends.json'));
    expect((await readResult(dir, 'scorer-backends'))?.kind).toBe('scorer-backends');
    const out = join(dir, 'BENCHMARKS.md');
    const r = await generateReport({ resultsDir: dir, out, plots: false });
    expect(r.included).toEqual(['backends']);
    expect(await readFile(out, 'utf8')).toContain('Headline: tensorflow over wasm 5.00×');
  });
});
