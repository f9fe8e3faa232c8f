import type { Metric, PrismScores } from '../schemas/types.ts';
import { giniRelative, giniSizeNormalised } from '../stats/relative.ts';
import { ArbitrationError } from './errors.ts';
import { RunningMean } from './running-mean.ts';

export const METRICS = ['gini', 'kurtosis', 'cv', 'l2'] as const satisfies readonly Metric[];

/**
 * Metrics beyond the paper (issue 17): computed from the record's norm vector, not carried as
 * fields of the score block. `gini_relative` divides the norms by their running mean over the stream
 * (per probe version); `gini_size` divides each norm by √numel of its matrix. See src/stats/relative.ts.
 */
export const VARIANT_METRICS = ['gini_relative', 'gini_size'] as const;
export type VariantMetric = (typeof VARIANT_METRICS)[number];

/** Every value `arbitration.metric` and `prism eval routing` accept. */
export const ARBITRATION_METRICS = [...METRICS, ...VARIANT_METRICS] as const;
export type ArbitrationMetric = (typeof ARBITRATION_METRICS)[number];

export function isVariantMetric(m: ArbitrationMetric): m is VariantMetric {
  return (VARIANT_METRICS as readonly string[]).includes(m);
}

/** The statistic the arbitrator routes on (one of the score block's own fields). */
export function metricValue(scores: PrismScores, metric: Metric): number {
  return scores[metric];
}

/** The matrix shape facts `gini_size` needs (a subset of a Hugging Face config). */
export interface ProjectionDims {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly head_dim: number;
}

/** numel of the 7L projection matrices in probe order (layer-major; q, k, v, o, gate, up, down). */
export function projectionNumel(c: ProjectionDims): number[] {
  const h = c.hidden_size;
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const mlp = c.intermediate_size;
  const layer = [h * q, h * kv, h * kv, q * h, h * mlp, h * mlp, mlp * h];
  return Array.from({ length: c.num_hidden_layers }, () => layer).flat();
}

function normsOf(scores: PrismScores, metric: VariantMetric): readonly number[] {
  if (scores.norms === null) {
    throw new ArbitrationError(
      'NORMS_MISSING',
      `${metric} needs the per-matrix gradient norms; the scorer did not keep them (set scorer.emitNorms: true)`,
    );
  }
  return scores.norms;
}

/**
 * Turns a record's scores into the value routed on, for any ArbitrationMetric. Stateful only for
 * `gini_relative`: one RunningMean per key (the probe model version), updated by `value` itself, so
 * call it exactly once per record, in stream order. Variant failures are typed ArbitrationErrors
 * (the record is dead-lettered, the stream goes on).
 */
export class MetricEvaluator {
  private readonly means = new Map<string, RunningMean>();

  constructor(
    readonly metric: ArbitrationMetric,
    /** numel per projection matrix, required for `gini_size`. */
    private readonly numel?: readonly number[],
  ) {
    if (metric === 'gini_size' && numel === undefined)
      throw new RangeError('gini_size needs the probe model’s projection sizes');
  }

  value(scores: PrismScores, key = ''): number {
    const m = this.metric;
    if (!isVariantMetric(m)) return metricValue(scores, m);
    const norms = normsOf(scores, m);
    if (m === 'gini_size') {
      const numel = this.numel as readonly number[];
      if (norms.length !== numel.length) {
        throw new ArbitrationError(
          'NORMS_MISMATCH',
          `gini_size: ${norms.length} norms but the probe model has ${numel.length} projection matrices`,
        );
      }
      return giniSizeNormalised(norms, numel);
    }
    let mean = this.means.get(key);
    if (mean === undefined) {
      mean = new RunningMean();
      this.means.set(key, mean);
    }
    mean.push(norms);
    return giniRelative(norms, mean.value());
  }

  /** Forgets the running mean of a key (a retired probe version). */
  forget(key: string): void {
    this.means.delete(key);
  }
}
