import type { BenchRow, ScorerBenchResult } from '../scorer-host/bench.ts';
import type { ScorerPath } from '../scorer/path.ts';
import type { RunMeta } from './machine.ts';
import type { ResultBase } from './results.ts';
import { backendThreads } from './scorer-sweep.ts';

/**
 * `prism bench scorer --record`: the single-configuration scorer bench (src/scorer-host/bench.ts) on
 * several backends in one run (the "native backend" issue: tfjs-node vs wasm vs cpu, same model),
 * saved as bench/results/scorer-backends.json for `prism bench report`.
 */
export interface BackendEntry {
  bench: ScorerBenchResult;
  /** Threads the backend computes with (tensorflow: TF_NUM_INTRAOP_THREADS or the core count; wasm/cpu: 1). */
  threads: number;
}

/** How much faster tensorflow is than one other backend, on the same row. */
export interface BackendSpeedup {
  /** The other backend's kind. */
  versus: string;
  /** The row compared: tensorflow's chosen path (the same path is timed on every backend). */
  path: ScorerPath;
  /** Other backend's wall time / tensorflow's. */
  wall: number;
  /** The same in process CPU time. */
  cpu: number;
}

export interface ScorerBackendsResult extends ResultBase<'scorer-backends'> {
  /** Model source as given: a preset name or a model folder. */
  source: string;
  batch: number;
  seq: number;
  reps: number;
  backends: BackendEntry[];
  /** Empty when tensorflow was not among the backends (or chose no path). */
  speedups: BackendSpeedup[];
}

function rowOf(r: ScorerBenchResult, name: BenchRow['name']): BenchRow | undefined {
  return r.rows.find((x) => x.name === name);
}

/** Tensorflow over every other backend, on tensorflow's chosen path (a row every backend timed). */
export function tensorflowSpeedups(results: readonly ScorerBenchResult[]): BackendSpeedup[] {
  const tf = results.find((r) => r.backend.kind === 'tensorflow');
  const path = tf?.chosenPath;
  if (tf === undefined || path === undefined) return [];
  const mine = rowOf(tf, path);
  if (mine === undefined) return [];
  return results
    .filter((r) => r !== tf)
    .map((r) => {
      const other = rowOf(r, path);
      return {
        versus: r.backend.kind,
        path,
        wall: (other?.ms ?? Number.NaN) / mine.ms,
        cpu: (other?.cpuMs ?? Number.NaN) / mine.cpuMs,
      };
    });
}

export function backendsResult(o: {
  meta: RunMeta;
  source: string;
  reps: number;
  results: ScorerBenchResult[];
}): ScorerBackendsResult {
  const first = o.results[0];
  return {
    kind: 'scorer-backends',
    meta: o.meta,
    source: o.source,
    batch: first?.batch ?? 0,
    seq: first?.seq ?? 0,
    reps: o.reps,
    backends: o.results.map((bench) => ({ bench, threads: backendThreads(bench.backend) })),
    speedups: tensorflowSpeedups(o.results),
  };
}
