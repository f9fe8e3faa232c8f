/**
 * The enumerated `scorer.*` settings, without zod or tfjs, so CLI option parsers can list them at
 * start-up cheaply (config/scorer.ts builds the schema from them).
 */

/** How the scorer gets per-trajectory gradient norms (see src/scorer/README.md). */
export const SCORER_PATHS = ['auto', 'batched', 'per-trajectory'] as const;
export type ScorerPathSetting = (typeof SCORER_PATHS)[number];

export const NORM_METHODS = ['auto', 'ghost', 'outer'] as const;

export const METRICS = ['gini', 'kurtosis', 'cv', 'l2'] as const;
