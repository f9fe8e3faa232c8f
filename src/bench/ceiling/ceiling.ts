import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { BenchError } from '../errors.ts';
import { benchCacheDir } from '../paths.ts';
import { SGEMM_C, SGEMM_PY } from './sgemm-source.ts';

const run = promisify(execFile);

/**
 * This machine's fp32 matmul ceiling: the best GFLOP/s of an n×n×n sgemm (one warm-up call, then
 * `reps` timed calls), measured by the bench itself so ratios are against this machine, now.
 * Methods, first that works: a tiny C program against the system OpenBLAS (`cc … -lopenblas`;
 * Debian: apt-get install libopenblas-dev), else numpy.matmul in `python` (PRISM_BENCH_PYTHON or
 * python3). The best of the timed calls is the ceiling; the median is kept to show the noise.
 */
export interface CeilingOptions {
  /** Matrix size (default 2048: 17.2 GFLOP per call, big enough to reach peak, ~0.1–0.5 s a call). */
  n?: number;
  reps?: number;
  /** BLAS threads for the main figure (default: the cores the tfjs backend uses). */
  threads: number;
  method?: 'auto' | 'openblas-c' | 'numpy';
  python?: string;
  logger?: Logger;
}

export interface CeilingRun {
  method: 'openblas-c' | 'numpy';
  threads: number;
  bestGflops: number;
  medianGflops: number;
}

export interface Ceiling {
  /** The method of the best run. */
  method: 'openblas-c' | 'numpy';
  /** How it was measured, in words (goes into BENCHMARKS.md). */
  description: string;
  n: number;
  reps: number;
  /** The ceiling used for ratios: the best call of any method and thread count (≤ the backend's threads). */
  gflops: number;
  /** Thread count of that best run. */
  threads: number;
  runs: CeilingRun[];
  /** Per method: OpenBLAS core name / build config, or numpy's version and threadpool info. */
  libraries: Record<string, string>;
  /** OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as set when measuring (they pick the kernel). */
  env: Record<string, string>;
  /** Methods that could not run, and why. */
  skipped: string[];
}

interface ProbeOutput {
  threads: number;
  bestGflops: number;
  medianGflops: number;
  corename?: string;
  config?: string;
  numpy?: string;
  blas?: unknown;
}

/** The useful line of a failed probe: the last stderr line (e.g. "No module named 'numpy'"), else the message. */
function failure(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  const last = typeof stderr === 'string' ? stderr.trim().split('\n').pop() : undefined;
  return last !== undefined && last !== '' ? last : errorMessage(err).split('\n')[0];
}

function blasEnv(threads: number): NodeJS.ProcessEnv {
  const t = String(threads);
  return { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t };
}

function parseProbe(stdout: string): ProbeOutput {
  const line = stdout.trim().split('\n').pop() ?? '';
  const p = JSON.parse(line) as ProbeOutput;
  if (!(p.bestGflops > 0)) throw new Error(`probe printed no positive GFLOP/s: ${line}`);
  return p;
}

/** Compiles the C probe once per source hash into the bench cache; returns the binary path. */
async function compileProbe(): Promise<string> {
  const dir = benchCacheDir();
  const hash = createHash('sha256').update(SGEMM_C).digest('hex').slice(0, 12);
  const bin = join(dir, `sgemm-${hash}`);
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  const src = join(dir, `sgemm-${hash}.c`);
  await writeFile(src, SGEMM_C);
  const cc = process.env.CC ?? 'cc';
  await run(cc, ['-O2', '-o', bin, src, '-lopenblas'], { timeout: 60_000 });
  return bin;
}

async function measureC(n: number, reps: number, threadList: number[]): Promise<{ runs: ProbeOutput[] }> {
  const bin = await compileProbe();
  const runs: ProbeOutput[] = [];
  for (const t of threadList) {
    const { stdout } = await run(bin, [String(n), String(reps), String(t)], {
      env: blasEnv(t),
      timeout: 300_000,
    });
    runs.push(parseProbe(stdout));
  }
  return { runs };
}

async function measureNumpy(
  python: string,
  n: number,
  reps: number,
  threadList: number[],
): Promise<{ runs: ProbeOutput[] }> {
  const runs: ProbeOutput[] = [];
  for (const t of threadList) {
    const { stdout } = await run(python, ['-c', SGEMM_PY, String(n), String(reps), String(t)], {
      env: blasEnv(t),
      timeout: 300_000,
    });
    runs.push(parseProbe(stdout));
  }
  return { runs };
}

export async function measureCeiling(opts: CeilingOptions): Promise<Ceiling> {
  const n = opts.n ?? 2048;
  const reps = opts.reps ?? 20;
  const method = opts.method ?? 'auto';
  const threadList = [...new Set([opts.threads, 1])];
  const env: Record<string, string> = {};
  for (const k of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  const runs: CeilingRun[] = [];
  const libraries: Record<string, string> = {};
  const skipped: string[] = [];
  const descriptions: string[] = [];
  const python = opts.python ?? process.env.PRISM_BENCH_PYTHON ?? 'python3';

  if (method === 'auto' || method === 'openblas-c') {
    try {
      const { runs: out } = await measureC(n, reps, threadList);
      out.forEach((r) =>
        runs.push({
          method: 'openblas-c',
          threads: r.threads,
          bestGflops: r.bestGflops,
          medianGflops: r.medianGflops,
        }),
      );
      libraries['openblas-c'] = `${out[0].corename ?? '?'} · ${out[0].config ?? ''}`.trim();
      descriptions.push(
        `cblas_sgemm from a C program linked against the system OpenBLAS (kernel ${out[0].corename ?? '?'})`,
      );
    } catch (err) {
      skipped.push(`openblas-c: ${failure(err)}`);
      opts.logger?.warn(
        { err: errorMessage(err) },
        'sgemm ceiling: C/OpenBLAS probe failed (needs cc and libopenblas-dev)',
      );
    }
  }
  if (method === 'auto' || method === 'numpy') {
    try {
      const { runs: out } = await measureNumpy(python, n, reps, threadList);
      out.forEach((r) =>
        runs.push({
          method: 'numpy',
          threads: r.threads,
          bestGflops: r.bestGflops,
          medianGflops: r.medianGflops,
        }),
      );
      libraries.numpy = `numpy ${out[0].numpy ?? '?'} in ${python}${out[0].blas ? ` · ${JSON.stringify(out[0].blas)}` : ''}`;
      descriptions.push(`numpy ${out[0].numpy ?? '?'} float32 matmul (${python})`);
    } catch (err) {
      skipped.push(`numpy (${python}): ${failure(err)}`);
      opts.logger?.debug({ err: errorMessage(err) }, 'sgemm ceiling: numpy probe failed');
    }
  }
  if (runs.length === 0) {
    throw new BenchError(
      'CEILING_UNAVAILABLE',
      `cannot measure the fp32 matmul ceiling: ${skipped.join('; ')}. Install a C compiler and OpenBLAS (Debian: apt-get install libopenblas-dev) or point PRISM_BENCH_PYTHON at a python with numpy`,
    );
  }
  const best = runs.reduce((a, b) => (b.bestGflops > a.bestGflops ? b : a));
  return {
    method: best.method,
    description: `${n}×${n}×${n} fp32 GEMM: ${descriptions.join('; ')}; threads ${threadList.join(' and ')}; one warm-up then ${reps} timed calls each; ceiling = the fastest call of any method and thread count`,
    n,
    reps,
    gflops: best.bestGflops,
    threads: best.threads,
    runs,
    libraries,
    env,
    skipped,
  };
}
