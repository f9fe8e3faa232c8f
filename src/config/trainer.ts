import { z } from 'zod';
import { BACKEND_CHOICES } from '../backend/select.ts';

/**
 * `trainer`: the two continuous trainers (`prism train sft`, `prism train rl`). Each consumes its
 * topic (topics.sft / topics.rl) in its own consumer group, trains the Llama-family model, writes
 * checkpoints under `<checkpointRoot>/<modelId>/` and publishes ModelUpdates to topics.modelUpdates.
 */

const optimizerSection = (lr: number) =>
  z
    .object({
      /** Peak learning rate. */
      lr: z.number().positive().default(lr),
      /** Linear warm-up from 0 over this many optimizer steps. */
      warmupSteps: z.number().int().nonnegative().default(10),
      /** After warm-up: constant (a stream never ends) or decay to lr·minLrRatio over decaySteps. */
      decay: z.enum(['constant', 'linear', 'cosine']).default('constant'),
      decaySteps: z.number().int().nonnegative().default(0),
      minLrRatio: z.number().min(0).max(1).default(0.1),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      eps: z.number().positive().default(1e-8),
      /** Decoupled (AdamW) weight decay. */
      weightDecay: z.number().min(0).default(0.01),
      /** Weights whose HF name contains one of these get no weight decay. */
      noDecay: z.array(z.string().min(1)).default(['norm', 'bias']),
      /** Clip the global gradient L2 norm to this (0 = off). */
      maxGradNorm: z.number().min(0).default(1.0),
      /** Micro-batches per optimizer step. */
      gradAccumulation: z.number().int().positive().default(1),
    })
    .strict();

const checkpointSection = z
  .object({
    /** Write a checkpoint every N optimizer steps ... */
    everySteps: z.number().int().positive().default(100),
    /** ... or when this many seconds passed since the last one (and at least one step was taken). */
    everySeconds: z.number().positive().default(600),
    /** Completed checkpoints kept per model id (the newest is never deleted). */
    keep: z.number().int().positive().default(3),
  })
  .strict();

const metricsSection = (port: number) =>
  z
    .object({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('127.0.0.1'),
      /** 0 = any free port (tests). */
      port: z.number().int().min(0).max(65535).default(port),
    })
    .strict();

const modeFields = (defaults: { modelId: string; groupId: string; lr: number; port: number }) => ({
  /** Key of the ModelUpdates this trainer publishes, and its checkpoint sub-folder. */
  modelId: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only')
    .default(defaults.modelId),
  /** Consumer group on the input topic (one trainer process per group). */
  groupId: z.string().min(1).default(defaults.groupId),
  /** Starting model folder (HF config.json + *.safetensors), used when no checkpoint exists yet. */
  initModelDir: z.string().min(1).optional(),
  /** Sequences per micro-batch. */
  microBatchSize: z.number().int().positive().max(1024).default(8),
  /** A partial micro-batch is trained after waiting this long for more records. */
  maxBatchWaitMs: z.number().int().positive().default(2000),
  /** Tokens per sequence; longer trajectories are truncated (from the left of the context). */
  maxSeqLen: z.number().int().positive().max(131072).default(1024),
  optimizer: optimizerSection(defaults.lr).prefault({}),
  checkpoint: checkpointSection.prefault({}),
  /** JSONL audit log of trained record ids with their step (tests, audits). */
  idLog: z.string().min(1).optional(),
  /** Where to start when neither a checkpoint nor a committed group offset exists. */
  startFrom: z.enum(['earliest', 'latest']).default('earliest'),
  /** kafkajs session timeout: a training step longer than this would evict the member. */
  sessionTimeoutMs: z.number().int().positive().default(60_000),
  metrics: metricsSection(defaults.port).prefault({}),
});

export const sftTrainerSection = z
  .object(modeFields({ modelId: 'prism-sft', groupId: 'prism-trainer-sft', lr: 1e-5, port: 9465 }))
  .strict();

export const rlTrainerSection = z
  .object({
    ...modeFields({ modelId: 'prism-rl', groupId: 'prism-trainer-rl', lr: 1e-6, port: 9466 }),
    /** model: start from initModelDir; latest-sft: from the newest checkpoint of trainer.sft.modelId (SFT-then-RL). */
    initFrom: z.enum(['model', 'latest-sft']).default('model'),
    advantage: z
      .object({
        /** Release a task's group once it has this many members (0 = only when the window expires). */
        groupSize: z.number().int().nonnegative().default(8),
        /** Smaller groups fall back to the running baseline. */
        minGroupSize: z.number().int().min(2).default(2),
        /** Longest a record waits for its group. */
        windowMs: z.number().int().positive().default(30_000),
        /** Most records held waiting for groups; beyond that the oldest group is released. */
        maxPending: z.number().int().positive().default(1024),
        /** Divide by the group std (GRPO); false = Dr. GRPO. */
        scaleByStd: z.boolean().default(true),
        eps: z.number().positive().default(1e-6),
        /** EMA factor of the running baseline for records without a group. */
        baselineAlpha: z.number().gt(0).max(1).default(0.05),
      })
      .strict()
      .prefault({}),
    /** PPO-style clip of the importance ratio (used where turns carry behaviour logprobs). */
    clip: z
      .object({ low: z.number().min(0).lt(1).default(0.2), high: z.number().min(0).default(0.2) })
      .strict()
      .prefault({}),
    kl: z
      .object({
        /** β of the k3 KL penalty to a frozen reference model (0 = off, no reference loaded). */
        coef: z.number().min(0).default(0),
        /** Reference model folder; default: the model this lineage started from. */
        referenceModelDir: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** token-mean: every token weighs the same (DAPO/verl default); seq-mean: every trajectory (GRPO paper). */
    aggregation: z.enum(['token-mean', 'seq-mean']).default('token-mean'),
  })
  .strict();

export const trainerSection = z
  .object({
    /** Checkpoints go to <checkpointRoot>/<modelId>/step-NNNNNNNNN/. */
    checkpointRoot: z.string().min(1).default('.prism/checkpoints'),
    /** tfjs backend for training (see scorer.backend). */
    backend: z.enum(BACKEND_CHOICES).default('auto'),
    sft: sftTrainerSection.prefault({}),
    rl: rlTrainerSection.prefault({}),
  })
  .strict();

export type TrainerConfig = z.infer<typeof trainerSection>;
export type SftTrainerConfig = z.infer<typeof sftTrainerSection>;
export type RlTrainerConfig = z.infer<typeof rlTrainerSection>;
export type TrainerOptimizerConfig = SftTrainerConfig['optimizer'];
