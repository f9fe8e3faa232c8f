import type { Arch, Preset } from '../model/config.ts';
import { ConfigError } from '../errors.ts';

/** How the embedded demo model is built: a tiny byte-level Llama, briefly SFT-trained on base families. */
export interface WarmStartSettings {
  readonly preset: Preset;
  readonly arch: Arch;
  readonly modelSeed: number;
  /** `prism gen` seed of the training records (base families only, distinct from the stream's seed). */
  readonly dataSeed: number;
  readonly maxChars: number;
  readonly groupSize: number;
  /** Optimizer steps; one micro-batch of fresh records each (a single pass, no epochs). */
  readonly steps: number;
  readonly microBatchSize: number;
  readonly maxSeqLen: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly minLrRatio: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
}

/** The stream the demo produces: base and conflict families mixed. */
export interface StreamSettings {
  readonly n: number;
  readonly seed: number;
  readonly conflictShare: number;
  readonly maxChars: number;
  readonly groupSize: number;
}

export interface DemoSettings {
  readonly profile: 'default' | 'quick';
  readonly warmStart: WarmStartSettings;
  readonly stream: StreamSettings;
  /** Tokens per trajectory for the scorer and both trainers (the first maxSeqLen are used). */
  readonly maxSeqLen: number;
  /** Scores the median window needs before the first routing decision. */
  readonly arbitrationWarmup: number;
  readonly trainerMicroBatch: number;
  /** Checkpoint (and publish a ModelUpdate) every this many steps. */
  readonly checkpointEverySteps: number;
}

/**
 * Sequences are cut at 512 tokens: on a 2-core CPU the tiny model then scores ~9 records/s per
 * core, and the conflict families differ from their base family within the first few actions.
 */
const MAX_SEQ_LEN = 512;
const GEN_MAX_CHARS = 1024;

/**
 * 40 steps (320 base-family records): loss 5.6 → ~2.4. Measured on the seed-7 stream (320 records):
 * gini's conflict-vs-base AUC was 0.65 / 0.60 / 0.69 / 0.49 / 0.40 / 0.51 after 0 / 20 / 40 / 60 /
 * 90 / 150 steps (l2: 0.58 / 0.62 / 0.77 / 0.69 / 0.74 / 0.72): longer warm-starts do not help this
 * tiny model, and 40 steps take ~20 s on two idle cores.
 */
const WARM_START_STEPS = 40;

const WARM_START = {
  preset: 'tiny',
  arch: 'llama',
  modelSeed: 1,
  dataSeed: 1001,
  maxChars: GEN_MAX_CHARS,
  groupSize: 4,
  microBatchSize: 8,
  maxSeqLen: MAX_SEQ_LEN,
  lr: 3e-3,
  warmupSteps: 10,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  maxGradNorm: 1,
} as const;

export interface DemoFlags {
  quick?: boolean;
  n?: number;
  seed?: number;
  conflictShare?: number;
}

/** The default and --quick profiles; --n / --seed / --conflict-share override the stream. */
export function demoSettings(flags: DemoFlags = {}): DemoSettings {
  const quick = flags.quick === true;
  const n = flags.n ?? (quick ? 240 : 1000);
  if (!Number.isInteger(n) || n < 16) throw new ConfigError(`demo: --n must be an integer >= 16, got ${n}`);
  const share = flags.conflictShare ?? 0.3;
  if (!(share > 0 && share < 1))
    throw new ConfigError(`demo: --conflict-share must be in (0, 1), got ${share}`);
  return {
    profile: quick ? 'quick' : 'default',
    // Same warm-start for both profiles: one cached model serves both.
    warmStart: { ...WARM_START, steps: WARM_START_STEPS },
    stream: { n, seed: flags.seed ?? 7, conflictShare: share, maxChars: GEN_MAX_CHARS, groupSize: 4 },
    maxSeqLen: MAX_SEQ_LEN,
    // A quarter of the stream, at most 128: enough for a stable median, small enough to start early.
    arbitrationWarmup: Math.max(8, Math.min(128, Math.floor(n / 4))),
    trainerMicroBatch: 8,
    checkpointEverySteps: quick ? 10 : 25,
  };
}
