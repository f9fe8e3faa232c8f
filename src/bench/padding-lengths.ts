/**
 * Sequence lengths for `prism bench padding`: from a named synthetic distribution (seeded), or from
 * trajectories through the scorer's own tokenisation (src/sequence buildSequence). Pure.
 */
import { ConfigError, PrismError } from '../errors.ts';
import { Rng } from '../gen/rng.ts';
import type { Trajectory } from '../schemas/types.ts';
import { buildSequence } from '../sequence/index.ts';
import type { TurnTokenizer } from '../tokenizer/types.ts';

export type LengthDistribution =
  { kind: 'uniform'; min: number; max: number } | { kind: 'lognormal'; median: number; sigma: number };

const USAGE =
  'use uniform:MIN-MAX (e.g. uniform:1000-8000) or lognormal:MEDIAN:SIGMA (e.g. lognormal:2000:0.8)';

/** Parses `uniform:1000-8000` or `lognormal:2000:0.8`; a ConfigError says what is wrong. */
export function parseDistribution(spec: string): LengthDistribution {
  const uni = /^uniform:(\d+)-(\d+)$/.exec(spec);
  if (uni !== null) {
    const [min, max] = [Number(uni[1]), Number(uni[2])];
    if (min < 1 || max < min) throw new ConfigError(`bad distribution ${spec}: need 1 ≤ MIN ≤ MAX; ${USAGE}`);
    return { kind: 'uniform', min, max };
  }
  const logn = /^lognormal:(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(spec);
  if (logn !== null) {
    const [median, sigma] = [Number(logn[1]), Number(logn[2])];
    if (median < 1) throw new ConfigError(`bad distribution ${spec}: need MEDIAN ≥ 1; ${USAGE}`);
    return { kind: 'lognormal', median, sigma };
  }
  throw new ConfigError(`unknown length distribution ${spec}; ${USAGE}`);
}

/** `n` lengths drawn from `dist` with `seed`, each clipped to [1, maxLength]. Deterministic. */
export function syntheticLengths(
  dist: LengthDistribution,
  n: number,
  seed: number,
  maxLength: number,
): number[] {
  const rng = new Rng(seed, 0x9add);
  const clip = (l: number): number => Math.max(1, Math.min(maxLength, Math.round(l)));
  return Array.from({ length: n }, () => {
    if (dist.kind === 'uniform') return clip(rng.int(dist.min, dist.max));
    // Box–Muller: one standard normal from two uniforms (1 − u keeps the log finite).
    const z = Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
    return clip(dist.median * Math.exp(dist.sigma * z));
  });
}

export interface RecordLengths {
  /** Token count of every record the scorer could score (its bucketing length), in input order. */
  lengths: number[];
  /** Records the scorer would reject (typed outcome), by reason code. */
  rejected: Record<string, number>;
}

/** The lengths the scorer buckets by (BuiltSequence ids, truncated at maxSeqLen) for each trajectory. */
export function recordLengths(
  trajectories: Iterable<Trajectory>,
  opts: { tokenizer: TurnTokenizer | null; vocabSize: number; maxSeqLen: number; maxTokens?: number },
): RecordLengths {
  const out: RecordLengths = { lengths: [], rejected: {} };
  for (const t of trajectories) {
    try {
      out.lengths.push(buildSequence(t.turns, opts).ids.length);
    } catch (err) {
      if (!(err instanceof PrismError)) throw err;
      out.rejected[err.code] = (out.rejected[err.code] ?? 0) + 1;
    }
  }
  return out;
}
