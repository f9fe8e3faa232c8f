import { z } from 'zod';

/**
 * `probe`: whether the arbitrator's probe model stays fixed or follows a trainer.
 * `frozen` (default) is the paper's setting: the base model never changes. `follow` subscribes to
 * topics.modelUpdates for `followModelId`, verifies each checkpoint's sha256, loads it in the
 * background and swaps it in between micro-batches; every new version gets its own arbitration
 * window (and warm-up). A checkpoint that fails verification is refused; the old version keeps serving.
 */
export const probeSection = z
  .object({
    mode: z.enum(['frozen', 'follow']).default('frozen'),
    /** The trainer's model id to follow (trainer.sft.modelId / trainer.rl.modelId); required for `follow`. */
    followModelId: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only')
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.mode === 'follow' && p.followModelId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['followModelId'],
        message:
          'required when probe.mode is "follow" (the model id whose ModelUpdates to follow, e.g. prism-sft)',
      });
    }
  });

export type ProbeConfig = z.infer<typeof probeSection>;

/** Cross-section rule, checked by the root schema: the tfjs scorer swaps weights, the torch service reloads them. */
export function probeScorerIssue(
  probe: ProbeConfig,
  scorerKind: string,
): { path: string[]; message: string } | undefined {
  if (probe.mode !== 'follow' || scorerKind === 'prism' || scorerKind === 'torch') return undefined;
  return {
    path: ['probe', 'mode'],
    message: `"follow" requires scorer.kind "prism" (the tfjs probe model) or "torch" (the PyTorch scorer service); scorer.kind is "${scorerKind}"`,
  };
}
