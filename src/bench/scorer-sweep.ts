import { availableParallelism } from 'node:os';
import type { BackendChoice, BackendInfo } from '../backend/index.ts';
import type { Logger } from '../log.ts';
import type { Preset } from '../model/config.ts';
import { runScorerBench, type BenchRow, type ScorerBenchResult } from '../scorer-host/bench.ts';
import { measureCeiling, type Ceiling } from './ceiling/ceiling.ts';
import type { RunMeta } from './machine.ts';
import type { ResultBase } from './results.ts';

/**
 * `prism bench scorer --sweep`: helper 4's single-configuration scorer bench (src/scorer-host/bench.ts)
 * over a grid of presets × batch × seq, plus this machine's fp32 matmul ceiling measured in the
 * same run, so every row also reads as a fraction of what the hardware can do.
 */
export interface SweepConfig {
  preset: Preset;
  batch: number;
  seq: number;
}

/** The full grid of the issue: presets tiny, small × batch 8, 16, 32 × seq 128, 256, 512. */
export function fullGrid(): SweepConfig[] {
  return grid(['tiny', 'small'], [8, 16, 32], [128, 256, 512]);
}

/** A subset that finishes in a few minutes on 2 cores (tooling check, not for publishing). */
export function quickGrid(): SweepConfig[] {
  return [
    { preset: 'tiny', batch: 8, seq: 128 },
    { preset: 'tiny', batch: 16, seq: 128 },
    { preset: 'tiny', batch: 8, seq: 256 },
    { preset: 'small', batch: 8, seq: 128 },
  ];
}

export function grid(
  presets: readonly Preset[],
  batches: readonly number[],
  seqs: readonly number[],
): SweepConfig[] {
  const out: SweepConfig[] = [];
  for (const preset of presets)
    for (const seq of seqs) for (const batch of batches) out.push({ preset, batch, seq });
  return out;
}

export interface SweepRatios {
  /** Wall time of the paper's per-trajectory full backward / the batched scorer. */
  batchedVsReference: number;
  /** Per-trajectory loop (projection grads only) / batched. */
  batchedVsPerTrajectory: number;
  /** Batched scorer wall time / one plain training step on the same batch (the cost of scoring in training-step units). */
  batchedOverTrainStep: number;
  /** Achieved GFLOP/s of each row / the ceiling (null without a ceiling). */
  ofCeiling: Record<string, number> | null;
}

export interface SweepRow extends SweepConfig {
  bench: ScorerBenchResult;
  ratios: SweepRatios;
}

export interface SweepResult extends ResultBase<'scorer-sweep'> {
  backend: BackendInfo;
  /** Threads the tfjs backend computes with (tensorflow: TF_NUM_INTRAOP_THREADS or the core count; wasm/cpu: 1). */
  threads: number;
  reps: number;
  ceiling: Ceiling | null;
  /** Configurations asked for; fewer rows means the run was interrupted (rows are saved as they finish). */
  planned: number;
  rows: SweepRow[];
}

export function backendThreads(b: Pick<BackendInfo, 'kind'>): number {
  if (b.kind === 'tensorflow' || b.kind === 'tensorflow-gpu') {
    const env = Number(process.env.TF_NUM_INTRAOP_THREADS);
    return Number.isInteger(env) && env > 0 ? env : availableParallelism();
  }
  return 1;
}

function rowOf(r: ScorerBenchResult, name: BenchRow['name']): BenchRow | undefined {
  return r.rows.find((x) => x.name === name);
}

export function sweepRatios(r: ScorerBenchResult, ceilingGflops: number | null): SweepRatios {
  const ms = (name: BenchRow['name']): number => rowOf(r, name)?.ms ?? Number.NaN;
  return {
    batchedVsReference: ms('reference') / ms('batched'),
    batchedVsPerTrajectory: ms('per-trajectory') / ms('batched'),
    batchedOverTrainStep: ms('batched') / ms('train-step'),
    ofCeiling:
      ceilingGflops === null
        ? null
        : Object.fromEntries(r.rows.map((row) => [row.name, row.gflopPerSec / ceilingGflops])),
  };
}

export interface SweepOptions {
  configs: SweepConfig[];
  backend: BackendChoice;
  reps: number;
  /** false: skip the ceiling measurement (ratios to it are then null). */
  ceiling: boolean;
  ceilingN?: number;
  logger: Logger;
  meta: { finish(): RunMeta };
  /** Called before each configuration (progress). */
  onConfig?: (index: number, config: SweepConfig) => void;
  /** Called after each configuration with the partial result (so an interrupted sweep keeps its rows). */
  onPartial?: (partial: SweepResult) => Promise<void>;
}

export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const rows: SweepRow[] = [];
  let backend: BackendInfo | undefined;
  let ceiling: Ceiling | null = null;
  const build = (): SweepResult => {
    if (backend === undefined) throw new Error('sweep ran no configuration');
    return {
      kind: 'scorer-sweep',
      meta: opts.meta.finish(),
      backend,
      threads: backendThreads(backend),
      reps: opts.reps,
      ceiling,
      planned: opts.configs.length,
      rows: [...rows],
    };
  };
  for (const [i, config] of opts.configs.entries()) {
    opts.onConfig?.(i, config);
    const [bench] = await runScorerBench({
      source: { preset: { preset: config.preset, arch: 'llama', seed: 0 } },
      batch: config.batch,
      seq: config.seq,
      backends: [opts.backend],
      reps: opts.reps,
      logger: opts.logger,
    });
    if (backend === undefined) {
      backend = bench.backend;
      // Measured after the backend is known (its thread count) and before the long rows, with the same load around it.
      if (opts.ceiling) {
        ceiling = await measureCeiling({
          threads: backendThreads(backend),
          n: opts.ceilingN,
          logger: opts.logger,
        });
        opts.logger.info(
          { gflops: ceiling.gflops, method: ceiling.method, threads: ceiling.threads },
          'fp32 matmul ceiling',
        );
      }
    }
    rows.push({ ...config, bench, ratios: sweepRatios(bench, ceiling?.gflops ?? null) });
    await opts.onPartial?.(build());
  }
  return build();
}
