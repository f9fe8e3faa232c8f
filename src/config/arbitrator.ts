import { z } from 'zod';

/**
 * `arbitration`: how a score becomes a route. `policy: median` is PRISM's rule (RL above the
 * running median, ties to SFT); `quantile` targets an RL share of 1 − quantile; `threshold` is fixed.
 */
export const arbitrationSection = z
  .object({
    policy: z.enum(['median', 'quantile', 'threshold']).default('median'),
    metric: z.enum(['gini', 'kurtosis', 'cv', 'l2']).default('gini'),
    /** q for `policy: quantile` (RL share 1 − q). */
    quantile: z.number().gt(0).lt(1).default(0.5),
    /** t for `policy: threshold`; required there. */
    threshold: z.number().finite().optional(),
    /** Sliding-window size in scores, per probe model version. */
    window: z.number().int().min(1).max(1_000_000).default(2048),
    /** Scores a window needs before the first decision; records are held until then. */
    warmup: z.number().int().min(1).default(256),
    /** JSONL of scores or scored records that pre-fills the window (also `--calibrate FILE`). */
    calibrate: z.string().min(1).optional(),
    /**
     * Where the window lives. `kafka`: every score is appended to topics.scores in the micro-batch's
     * transaction and every instance keeps the window from the whole topic (one threshold for the
     * stream, restored on start). `local`: in memory per instance (brokers without transactions, tests).
     */
    state: z.enum(['kafka', 'local']).default('kafka'),
    /** Longest wait on start for the window's restore from topics.scores before deciding anyway. */
    restoreTimeoutMs: z.number().int().min(100).default(60_000),
    /** Retention of topics.scores when `prism topics create` makes it: time (ms) and bytes per partition. */
    scoresRetentionMs: z.number().int().min(60_000).default(604_800_000),
    scoresRetentionBytes: z.number().int().min(1_048_576).default(268_435_456),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.policy === 'threshold' && a.threshold === undefined) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'required when policy is "threshold"' });
    }
    if (a.warmup > a.window) {
      ctx.addIssue({
        code: 'custom',
        path: ['warmup'],
        message: `must not exceed arbitration.window (${a.window})`,
      });
    }
  });

export type ArbitrationConfig = z.infer<typeof arbitrationSection>;
