import type { Route } from '../schemas/types.ts';
import type { SlidingQuantile } from './sliding-quantile.ts';

export const POLICY_KINDS = ['median', 'quantile', 'threshold'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** How the routing threshold is chosen. Routing itself is always `score > threshold → RL`. */
export interface Policy {
  readonly kind: PolicyKind;
  /** True when the threshold comes from the sliding window (so a warm-up applies). */
  readonly usesWindow: boolean;
  /** Expected long-run RL share on a stationary stream, or null when unknown (fixed threshold). */
  readonly targetRlShare: number | null;
  /** The threshold now; `window` is non-empty whenever `usesWindow`. */
  threshold(window: SlidingQuantile): number;
  /** One line for logs and `prism topology`. */
  describe(): string;
}

/** PRISM's rule: RL above the running median, ties to SFT (a 50:50 split). */
export function medianPolicy(): Policy {
  return { ...quantilePolicy(0.5), kind: 'median', describe: () => 'median' };
}

/** RL above the running q-quantile: a target RL share of 1 − q. */
export function quantilePolicy(q: number): Policy {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile must be in (0, 1), got ${q}`);
  return {
    kind: 'quantile',
    usesWindow: true,
    targetRlShare: 1 - q,
    threshold: (window) => window.quantile(q),
    describe: () => `quantile q=${q}`,
  };
}

/** A fixed threshold t: no window, no warm-up. */
export function thresholdPolicy(t: number): Policy {
  if (!Number.isFinite(t)) throw new RangeError(`threshold must be finite, got ${t}`);
  return {
    kind: 'threshold',
    usesWindow: false,
    targetRlShare: null,
    threshold: () => t,
    describe: () => `threshold t=${t}`,
  };
}

/** Strictly above goes to RL; ties go to SFT, as in PRISM (D_SFT = {s ≤ median}). */
export function routeFor(score: number, threshold: number): Route {
  return score > threshold ? 'RL' : 'SFT';
}
