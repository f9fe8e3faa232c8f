import { z } from 'zod';

/** The default topic names; every one can be renamed in config. */
export const DEFAULT_TOPICS = {
  trajectories: 'prism.trajectories',
  sft: 'prism.sft',
  rl: 'prism.rl',
  dlq: 'prism.dlq',
  modelUpdates: 'prism.model-updates',
  scores: 'prism.scores',
} as const;

export const topicsSection = z
  .object({
    trajectories: z.string().min(1).default(DEFAULT_TOPICS.trajectories),
    sft: z.string().min(1).default(DEFAULT_TOPICS.sft),
    rl: z.string().min(1).default(DEFAULT_TOPICS.rl),
    dlq: z.string().min(1).default(DEFAULT_TOPICS.dlq),
    modelUpdates: z.string().min(1).default(DEFAULT_TOPICS.modelUpdates),
    /** The arbitration window's changelog (arbitration.state kafka): one record per committed score. */
    scores: z.string().min(1).default(DEFAULT_TOPICS.scores),
  })
  .strict();

export type TopicsConfig = z.infer<typeof topicsSection>;
