import { Rng } from '../gen/rng.ts';
import { ARBITRATION_METRICS, type ArbitrationMetric } from '../arbitration/metric.ts';
import type { Route } from '../schemas/types.ts';
import { mannWhitneyAuc } from './auc.ts';
import { EvalError } from './errors.ts';
import { confusion, quantile, splitAt, type Confusion } from './split.ts';

/** Every metric the evaluation knows: the paper's four and the two variants (gini_relative, gini_size). */
export const EVAL_METRICS: readonly ArbitrationMetric[] = ARBITRATION_METRICS;

/** One scored, labelled record. */
export interface EvalRecord {
  readonly id: string;
  /** metadata.family, when present (per-family route shares). */
  readonly family: string | null;
  readonly positive: boolean;
  /** A metric missing from every record is not evaluated (e.g. the variants when norms were not kept). */
  readonly scores: Readonly<Partial<Record<ArbitrationMetric, number>>>;
  /** Scored response tokens, for the length baseline (a confound check: longer ≠ more conflicting). */
  readonly responseTokens?: number;
}

/**
 * - prism: the metric itself, RL above its median (what `prism run --policy median` does).
 * - inverse: the negated metric, RL above its median (i.e. low concentration → RL).
 * - random: a seeded uniform score per record, RL above its median (the chance baseline).
 * - length: response tokens as the score, RL above its median (does length alone separate the class?).
 */
export type Router = 'prism' | 'inverse' | 'random' | 'length';

export interface RouterEval {
  readonly router: Router;
  /** null for the random and length routers. */
  readonly metric: ArbitrationMetric | null;
  /** Records with a finite score under this router. */
  readonly n: number;
  /** null when one class is empty. */
  readonly auc: number | null;
  readonly aucSe: number | null;
  readonly u: number | null;
  /** The median split's threshold, on this router's score scale (negated for inverse). */
  readonly threshold: number;
  readonly confusion: Confusion;
}

export interface FamilyShare {
  readonly family: string;
  readonly n: number;
  readonly positives: number;
  /** RL share of this family under each metric's median split (prism router). */
  readonly rlShare: Readonly<Partial<Record<ArbitrationMetric, number | null>>>;
}

export interface RoutingEvaluation {
  readonly n: number;
  readonly positives: number;
  readonly negatives: number;
  readonly seed: number;
  /** Records dropped per evaluated metric because that metric's score was missing or not finite. */
  readonly nonFinite: Readonly<Partial<Record<ArbitrationMetric, number>>>;
  /** prism and inverse for every metric, then random, then length (when every record has responseTokens). */
  readonly rows: readonly RouterEval[];
  readonly families: readonly FamilyShare[];
}

function evalRouter(
  router: Router,
  metric: ArbitrationMetric | null,
  scores: readonly number[],
  positive: readonly boolean[],
): RouterEval {
  const threshold = quantile(scores, 0.5);
  const routes: Route[] = splitAt(scores, threshold);
  const nPos = positive.filter(Boolean).length;
  const both = nPos > 0 && nPos < positive.length;
  const a = both ? mannWhitneyAuc(scores, positive) : null;
  return {
    router,
    metric,
    n: scores.length,
    auc: a?.auc ?? null,
    aucSe: a?.se ?? null,
    u: a?.u ?? null,
    threshold,
    confusion: confusion(routes, positive),
  };
}

/**
 * Measures how well each PRISM metric's median split separates the labelled positives, against the
 * inverse and a seeded random router. Pure: same records and seed, same result. Nothing is tuned:
 * the split is the median of the very scores evaluated, as in PRISM.
 */
export function evaluateRouting(records: readonly EvalRecord[], seed = 1): RoutingEvaluation {
  if (records.length === 0)
    throw new EvalError('EVAL_EMPTY', 'evaluate routing: no scored, labelled records');
  const rows: RouterEval[] = [];
  const nonFinite: Partial<Record<ArbitrationMetric, number>> = {};
  // Per metric, the route of records[i] (undefined where that score is not finite).
  const routesBy: Partial<Record<ArbitrationMetric, (Route | undefined)[]>> = {};
  for (const metric of EVAL_METRICS) {
    if (records.every((r) => r.scores[metric] === undefined)) continue;
    const keptIdx = records.flatMap((r, i) => (Number.isFinite(r.scores[metric]) ? [i] : []));
    const kept = keptIdx.map((i) => records[i]);
    nonFinite[metric] = records.length - kept.length;
    if (kept.length === 0) continue;
    const s = kept.map((r) => r.scores[metric] as number);
    const y = kept.map((r) => r.positive);
    const prism = evalRouter('prism', metric, s, y);
    rows.push(
      prism,
      evalRouter(
        'inverse',
        metric,
        s.map((v) => -v),
        y,
      ),
    );
    const routes = splitAt(s, prism.threshold);
    const byRecord = new Array<Route | undefined>(records.length);
    keptIdx.forEach((i, k) => (byRecord[i] = routes[k]));
    routesBy[metric] = byRecord;
  }
  // One draw per record in input order: the baseline depends only on the seed and the record count.
  const rng = new Rng(seed, 0x5eed);
  rows.push(
    evalRouter(
      'random',
      null,
      records.map(() => rng.float()),
      records.map((r) => r.positive),
    ),
  );
  if (records.every((r) => r.responseTokens !== undefined && Number.isFinite(r.responseTokens))) {
    rows.push(
      evalRouter(
        'length',
        null,
        records.map((r) => r.responseTokens as number),
        records.map((r) => r.positive),
      ),
    );
  }
  const positives = records.filter((r) => r.positive).length;
  return {
    n: records.length,
    positives,
    negatives: records.length - positives,
    seed,
    nonFinite,
    rows,
    families: familyShares(records, routesBy),
  };
}

function familyShares(
  records: readonly EvalRecord[],
  routesBy: Partial<Record<ArbitrationMetric, (Route | undefined)[]>>,
): FamilyShare[] {
  const groups = new Map<string, number[]>();
  records.forEach((r, i) => {
    const f = r.family ?? '(none)';
    const g = groups.get(f);
    if (g) g.push(i);
    else groups.set(f, [i]);
  });
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([family, idx]) => {
      const rlShare: Partial<Record<ArbitrationMetric, number | null>> = {};
      for (const metric of EVAL_METRICS) {
        const byRecord = routesBy[metric];
        if (byRecord === undefined) continue;
        const routed = idx.map((i) => byRecord[i]).filter((x) => x !== undefined);
        rlShare[metric] =
          routed.length === 0 ? null : routed.filter((x) => x === 'RL').length / routed.length;
      }
      return { family, n: idx.length, positives: idx.filter((i) => records[i].positive).length, rlShare };
    });
}
