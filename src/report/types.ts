import type { RoutingEvaluation } from '../eval/routing.ts';
import type { Metric, Route } from '../schemas/types.ts';

/** One routed record: the routing metric's score and where it went. */
export interface RoutedRecord {
  readonly id: string;
  readonly family: string | null;
  readonly score: number;
  readonly route: Route;
}

/** A throughput/lag sample. */
export interface RateSample {
  /** Milliseconds since the epoch. */
  readonly t: number;
  readonly recordsPerSec: number;
  /** Records waiting (consumer lag, or records left to score offline); null when unknown. */
  readonly lag: number | null;
}

/** Everything the HTML report shows; a plain data object (no class, JSON-serialisable). */
export interface RunSummary {
  readonly title?: string;
  /** Milliseconds since the epoch; default: now. */
  readonly generatedAt?: number;
  readonly metric: Metric;
  /** The routing threshold (score > threshold → RL); null when unknown or varying. */
  readonly threshold: number | null;
  readonly records: readonly RoutedRecord[];
  readonly series: readonly RateSample[];
  /** `prism eval routing` results, when there are labels. */
  readonly evaluation?: { readonly label: string; readonly result: RoutingEvaluation } | null;
  /** What the numbers mean (e.g. what "lag" is for this run); shown under the title. */
  readonly notes?: readonly string[];
}

/** The data one page render needs: small and bounded whatever the record count. */
export interface ChartView {
  readonly title: string;
  readonly generatedAt: number;
  readonly metric: Metric;
  readonly threshold: number | null;
  readonly totals: { readonly records: number; readonly sft: number; readonly rl: number };
  /** Score histogram, stacked by route: bins [edges[i], edges[i+1]). */
  readonly histogram: {
    readonly edges: readonly number[];
    readonly sft: readonly number[];
    readonly rl: readonly number[];
  };
  readonly families: readonly { readonly family: string; readonly sft: number; readonly rl: number }[];
  readonly series: readonly RateSample[];
  readonly evaluation: { readonly label: string; readonly result: RoutingEvaluation } | null;
  readonly notes: readonly string[];
}
