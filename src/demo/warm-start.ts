import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { generate } from '../gen/generate.ts';
import type { Logger } from '../log.ts';
import { configToJson } from '../model/config.ts';
import { initModel, type LlamaModel } from '../model/llama.ts';
import { saveModel } from '../model-store/llama.ts';
import type { ScoredTrajectory, Trajectory } from '../schemas/types.ts';
import { ByteTokenizer } from '../tokenizer/byte.ts';
import type { TurnTokenizer } from '../tokenizer/types.ts';
import { CheckpointStore } from '../trainer/checkpoint/store.ts';
import { SftEngine } from '../trainer/engines/sft.ts';
import { TrainerLoop } from '../trainer/loop.ts';
import { OffsetLedger } from '../trainer/offsets.ts';
import { AdamW, defaultNoDecay } from '../trainer/optim/adamw.ts';
import type { InputRecord, Rejected, TrainerSink } from '../trainer/types.ts';
import { ConfigError } from '../errors.ts';
import { DemoError } from './errors.ts';
import { cacheKey, findCachedModel, publishCachedModel, WARM_START_RECIPE } from './model-cache.ts';
import type { WarmStartSettings } from './settings.ts';

export interface WarmStartHooks {
  readonly log: Logger;
  /** Called once the cache was checked: total steps to train (0 on a cache hit). */
  readonly onPlan?: (p: { cached: boolean; steps: number; dir: string }) => void;
  readonly onStep?: (step: number, loss: number) => void;
  /** Aborts between steps (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Cache root override (tests); default ~/.cache/prism-stream. */
  readonly cacheRoot?: string;
}

export interface WarmStartResult {
  readonly dir: string;
  readonly key: string;
  readonly cached: boolean;
  readonly steps: number;
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
}

/** The SFT engine reads only `value.trajectory`; the score block is a neutral placeholder. */
function asInputRecord(t: Trajectory, i: number): InputRecord {
  const value: ScoredTrajectory = {
    trajectory: t,
    prism: {
      gini: 0,
      kurtosis: 0,
      cv: 0,
      l2: 0,
      loss: 0,
      response_tokens: 0,
      truncated: false,
      norms: null,
      metric: 'gini',
      threshold: 0,
      route: 'SFT',
      probe_model_id: 'demo-warm-start',
      probe_model_version: '0',
      scored_at: 0,
      source_topic: 'demo-warm-start',
      source_partition: 0,
      source_offset: String(i),
    },
  };
  return {
    topic: 'demo-warm-start',
    partition: 0,
    offset: String(i),
    value,
    key: null,
    raw: null,
    headers: {},
  };
}

async function weightsSha(model: LlamaModel): Promise<string> {
  const h = createHash('sha256');
  for (const [name, data] of [...(await model.weightArrays())].sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(name);
    h.update(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

/** Records are consumed in order; the loop never writes a checkpoint and never talks to Kafka. */
const NULL_SINK: TrainerSink = {
  deadLetter: async () => undefined,
  commit: async () => undefined,
  publish: async () => undefined,
};

/** The optimizer side of a warm-start (WarmStartSettings minus the model and data choices). */
export type WarmStartTraining = Pick<
  WarmStartSettings,
  | 'steps'
  | 'microBatchSize'
  | 'maxSeqLen'
  | 'lr'
  | 'warmupSteps'
  | 'minLrRatio'
  | 'weightDecay'
  | 'maxGradNorm'
>;

export interface WarmStartTrainHooks {
  readonly log: Logger;
  readonly onStep?: (step: number, loss: number) => void;
  /** Aborts between steps (Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface WarmStartTrained {
  /** Optimizer steps taken: fewer than asked when a micro-batch had no usable record. */
  readonly steps: number;
  /** Records the SFT engine rejected, by reason code (they do not count towards a step). */
  readonly rejected: Readonly<Record<string, number>>;
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
  readonly seconds: number;
}

/** The warm-start's training data: `steps` micro-batches of fresh base-family `prism gen` records. */
export function warmStartRecords(
  s: Pick<WarmStartSettings, 'steps' | 'microBatchSize' | 'dataSeed' | 'maxChars' | 'groupSize'>,
): Trajectory[] {
  return [
    ...generate({
      n: s.steps * s.microBatchSize,
      seed: s.dataSeed,
      maxChars: s.maxChars,
      groupSize: s.groupSize,
      conflictShare: 0,
    }),
  ];
}

/**
 * Trains `model` in place for `t.steps` SFT steps, one micro-batch of `records` each (a single pass),
 * with the trainer's own TrainerLoop + SftEngine + AdamW (linear warm-up, cosine decay). Writes no
 * checkpoint and talks to no broker; the caller saves the model.
 */
export async function trainWarmStart(
  model: LlamaModel,
  tokenizer: TurnTokenizer | null,
  records: readonly Trajectory[],
  t: WarmStartTraining,
  hooks: WarmStartTrainHooks,
): Promise<WarmStartTrained> {
  if (records.length < t.steps * t.microBatchSize) {
    throw new ConfigError(
      `warm-start: ${t.steps} steps of ${t.microBatchSize} need ${t.steps * t.microBatchSize} records, got ${records.length}`,
    );
  }
  const started = Date.now();
  const seq = { tokenizer, vocabSize: model.config.vocab_size, maxSeqLen: t.maxSeqLen };
  // Records the SFT engine cannot use (e.g. no assistant token within maxSeqLen), by reason code.
  const rejectedBy: Record<string, number> = {};
  const countRejected = (rejected: readonly Rejected[]): void => {
    for (const r of rejected) rejectedBy[r.error.code] = (rejectedBy[r.error.code] ?? 0) + 1;
  };
  const optimizer = new AdamW(model.namedWeights(), {
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: t.weightDecay,
    noDecay: defaultNoDecay(['norm', 'bias']),
  });
  try {
    const never = Number.MAX_SAFE_INTEGER;
    const loop = new TrainerLoop(
      {
        trainer: 'sft',
        modelId: 'demo-warm-start',
        consumerGroup: 'demo-warm-start',
        microBatchSize: t.microBatchSize,
        maxBatchWaitMs: 1,
        gradAccumulation: 1,
        maxGradNorm: t.maxGradNorm,
        schedule: {
          lr: t.lr,
          warmupSteps: t.warmupSteps,
          decay: 'cosine',
          decaySteps: Math.max(1, t.steps - t.warmupSteps),
          minLrRatio: t.minLrRatio,
        },
        checkpointEverySteps: never,
        checkpointEverySeconds: never,
        keepCheckpoints: 1,
      },
      {
        engine: new SftEngine(model, seq),
        params: model.namedWeights(),
        optimizer,
        // Never written to (checkpoints are disabled above); the loop needs a store to exist.
        store: new CheckpointStore(join(tmpdir(), 'prism-demo-unused'), 'warm-start', hooks.log),
        writeWeights: () => Promise.reject(new Error('warm-start writes no checkpoint')),
        writeOptimizer: () => Promise.reject(new Error('warm-start writes no checkpoint')),
        sink: { ...NULL_SINK, deadLetter: async (rejected) => countRejected(rejected) },
        ledger: new OffsetLedger(),
        log: hooks.log,
      },
      { step: 0, parent: null, version: null },
    );
    let firstLoss: number | null = null;
    let lastLoss: number | null = null;
    loop.onStep((st) => {
      firstLoss ??= st.loss;
      lastLoss = st.loss;
      hooks.onStep?.(st.step, st.loss);
    });
    for (let i = 0; i < t.steps; i++) {
      if (hooks.signal?.aborted === true)
        throw new DemoError('DEMO_INTERRUPTED', 'interrupted during the model warm-start');
      const batch = records.slice(i * t.microBatchSize, (i + 1) * t.microBatchSize);
      await loop.offer(batch.map((r, j) => asInputRecord(r, i * t.microBatchSize + j)));
      await loop.pump(undefined, { flush: true });
      await yieldToLoop(); // lets Ctrl-C and the progress bar run between steps
    }
    hooks.log.info({ steps: loop.step, firstLoss, lastLoss, rejected: rejectedBy }, 'warm-start trained');
    if (loop.step === 0) {
      throw new ConfigError(
        `warm-start: no training step was possible; every record was rejected (${JSON.stringify(rejectedBy)}). ` +
          'A longer --max-seq-len keeps the assistant turns of long prompts',
      );
    }
    return {
      steps: loop.step,
      firstLoss,
      lastLoss,
      seconds: (Date.now() - started) / 1000,
      rejected: rejectedBy,
    };
  } finally {
    optimizer.dispose();
  }
}

/**
 * Builds (or reuses from the cache) the demo's probe/starting model: initModel's tiny byte-level
 * Llama, then `steps` SFT steps on base-family `prism gen` records (trainWarmStart), so the model
 * "knows" the base schema before the stream brings conflicting demonstrations.
 */
export async function ensureWarmStartModel(
  s: WarmStartSettings,
  hooks: WarmStartHooks,
): Promise<WarmStartResult> {
  const records = warmStartRecords(s);
  const model = initModel({ preset: s.preset, arch: s.arch, seed: s.modelSeed });
  try {
    const key = cacheKey({
      settings: s,
      modelConfig: configToJson(model.config),
      initWeightsSha256: await weightsSha(model),
      dataSha256: createHash('sha256').update(JSON.stringify(records)).digest('hex'),
    });
    const hit = await findCachedModel(key, hooks.cacheRoot);
    if (hit !== null) {
      hooks.onPlan?.({ cached: true, steps: 0, dir: hit });
      return { dir: hit, key, cached: true, steps: 0, firstLoss: null, lastLoss: null };
    }
    hooks.onPlan?.({ cached: false, steps: s.steps, dir: '' });
    const trained = await trainWarmStart(model, new ByteTokenizer(), records, s, hooks);
    const { steps, firstLoss, lastLoss } = trained;
    const dir = await publishCachedModel(
      key,
      {
        recipe: WARM_START_RECIPE,
        key,
        settings: s,
        steps,
        firstLoss,
        lastLoss,
        seconds: trained.seconds,
        createdAt: new Date().toISOString(),
      },
      (tmp) => saveModel(model, tmp),
      hooks.cacheRoot,
    );
    return { dir, key, cached: false, steps, firstLoss, lastLoss };
  } finally {
    model.dispose();
  }
}
