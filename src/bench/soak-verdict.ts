import { percentile, slope } from './stats.ts';

/** One sample of the soak: the child's memory and tfjs state at time t. */
export interface SoakSample {
  /** Seconds since the paced phase started. */
  t: number;
  rssBytes: number;
  /** tf.memory().numTensors in the child (prism_tfjs_tensors); null if the scrape failed. */
  tensors: number | null;
  heapUsedBytes: number | null;
  recordsOut: number | null;
}

export interface SoakVerdict {
  /** Samples after the first `warmupFraction` of the run, which the verdict looks at. */
  fromSecond: number;
  tensorsMin: number | null;
  tensorsMax: number | null;
  /** Live tensors never changed after warm-up. */
  tensorsFlat: boolean;
  rssSlopeMiBPerMin: number;
  rssMedianMiB: number;
  /** Projected RSS growth over the analysed window, MiB. */
  rssGrowthMiB: number;
  /** No leak: projected growth below max(16 MiB, 5 % of the median RSS) (shrinking is fine). */
  rssFlat: boolean;
}

const WARMUP_FRACTION = 0.2;

/** Judges flatness on the samples after the first 20 % of the run (start-up allocations excluded). */
export function soakVerdict(samples: readonly SoakSample[], totalSeconds: number): SoakVerdict {
  const fromSecond = totalSeconds * WARMUP_FRACTION;
  const steady = samples.filter((s) => s.t >= fromSecond);
  const tensors = steady.map((s) => s.tensors).filter((x): x is number => x !== null);
  const minutes = steady.map((s) => s.t / 60);
  const rssMiB = steady.map((s) => s.rssBytes / 2 ** 20);
  const slopeMiB = slope(minutes, rssMiB);
  const span = minutes.length > 1 ? minutes[minutes.length - 1] - minutes[0] : 0;
  const growth = Number.isFinite(slopeMiB) ? slopeMiB * span : 0;
  const median = percentile(rssMiB, 50);
  return {
    fromSecond,
    tensorsMin: tensors.length > 0 ? Math.min(...tensors) : null,
    tensorsMax: tensors.length > 0 ? Math.max(...tensors) : null,
    tensorsFlat: tensors.length > 0 && Math.min(...tensors) === Math.max(...tensors),
    rssSlopeMiBPerMin: slopeMiB,
    rssMedianMiB: median,
    rssGrowthMiB: growth,
    rssFlat: growth < Math.max(16, 0.05 * (Number.isFinite(median) ? median : 0)),
  };
}
