import * as tf from '@tensorflow/tfjs';
import type { ScorerPathSetting } from '../config/scorer.ts';
import { PrismError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ModelConfig } from '../model/config.ts';
import type { PrismScores, Trajectory } from '../schemas/types.ts';
import {
  batchTensors,
  buildSequence,
  chunkedHeadLoss,
  HEAD_CHUNK_BYTES,
  packBatch,
  perExampleLoss,
  type BuiltSequence,
  type PackedBatch,
  tokenLimit,
} from '../sequence/index.ts';
import { concentrationStats } from '../stats/index.ts';
import type { TurnTokenizer } from '../tokenizer/types.ts';
import { ScorerError, isFatalBackendError } from './errors.ts';
import { lengthBuckets, type BucketLimits } from './buckets.ts';
import type { MemoryShape } from './memory.ts';
import {
  batchedProbeNorms,
  perTrajectoryNorms,
  type BatchedOptions,
  type NormMethodSetting,
  type NormsResult,
  type ProbeLoss,
  type SplitMode,
} from './norms.ts';
import { layerwiseProbeNorms, supportsLayerwise } from './layerwise.ts';
import { PathChooser, type Calibration, type ScorerPath } from './path.ts';
import type { ProbeModel } from './probe-model.ts';
import type { ScoreOutcome, Scorer } from './types.ts';

/** What the scorer needs from the probe model (LlamaModel satisfies it). */
export interface ScorableModel extends ProbeModel {
  readonly config: Pick<ModelConfig, 'vocab_size' | 'max_position_embeddings'> & MemoryShape;
  dispose(): void;
}

export interface PrismScorerOptions {
  model: ScorableModel;
  /** null: only trajectories whose turns all carry token_ids can be scored. */
  tokenizer: TurnTokenizer | null;
  probeModelId: string;
  probeModelVersion: string;
  /** The selected backend's name, reported as Scorer.backend. */
  backend: string;
  /** The GPU adapter (webgpu, describeAdapter), reported as Scorer.adapter. */
  adapter?: string;
  maxSeqLen: number;
  /** input.limits.maxTokens: a trajectory with more tokens (text turns tokenized) is TOO_MANY_TOKENS; default unbounded. */
  maxTokens?: number;
  /** Trajectories per forward/backward on the batched path. */
  batchSize: number;
  /**
   * Cap on the estimated activation memory of one forward/backward (see memory.ts): bytes, or `auto` =
   * the weights' bytes plus two trajectories' activations at the pass's T (autoBatchBudgetBytes); default unlimited.
   */
  maxBatchBytes?: number | 'auto';
  /** Cap on the padded tokens (rows × longest row) of one forward/backward; default unlimited. */
  maxBatchTokens?: number;
  /**
   * The LM head and loss run in chunks of target positions of at most this many bytes of logits
   * (src/sequence/head-loss.ts); 0 = the whole [B, T, V] logits at once (the old path). Default 64 MiB.
   */
  headChunkBytes?: number;
  emitNorms: boolean;
  path: ScorerPathSetting;
  normMethod?: NormMethodSetting;
  split?: SplitMode;
  /** Dispose the model with the scorer (default true). */
  ownsModel?: boolean;
  /** Where the scorer logs (the caller's logger: the core holds no logger of its own). */
  logger: Logger;
}

interface Item {
  index: number;
  seq: BuiltSequence;
}

/** The masked next-token loss of a packed batch: from logits, or through the LM head in chunks. */
function packedLoss(
  packed: PackedBatch,
  t: ReturnType<typeof batchTensors>,
  headChunkBytes: number,
): ProbeLoss {
  const fromLogits = (logits: tf.Tensor3D): tf.Tensor1D => perExampleLoss(logits, t.targetIds, t.targetMask);
  if (headChunkBytes <= 0) return { fromLogits };
  return {
    fromLogits,
    fromHidden: (hidden, head) => chunkedHeadLoss(hidden, head, packed, headChunkBytes),
  };
}

interface Row {
  norms: Float32Array;
  loss: number;
  targets: number;
}

type RowOutcome = Row | PrismError;

function asPrismError(err: unknown, what: string): PrismError {
  if (err instanceof PrismError) return err;
  return new ScorerError('SCORING_FAILED', `${what}: ${errorMessage(err)}`, { cause: err });
}

/**
 * PRISM scorer on tfjs: per trajectory, the 7L gradient Frobenius norms of the frozen probe model's
 * next-token loss (mean over assistant targets), and gini/kurtosis/cv/l2 over them.
 * Bad records become `{ ok: false }` outcomes; the rest of the batch is scored.
 */
export class PrismScorer implements Scorer {
  readonly probeModelId: string;
  readonly probeModelVersion: string;
  readonly backend: string;
  readonly adapter?: string;
  readonly maxSeqLen: number;
  private readonly opts: PrismScorerOptions;
  private readonly chooser: PathChooser;
  private readonly logger: Logger;
  private disposed = false;
  private fatal: ScorerError | undefined;
  private readonly headChunkBytes: number;
  private readonly weightBytes: number;
  /** The call in progress: scoreBatch calls run one after another (reads are asynchronous, see norms.ts). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(opts: PrismScorerOptions) {
    this.opts = opts;
    this.probeModelId = opts.probeModelId;
    this.probeModelVersion = opts.probeModelVersion;
    this.backend = opts.backend;
    this.adapter = opts.adapter;
    this.logger = opts.logger.child({ component: 'scorer' });
    const maxPos = opts.model.config.max_position_embeddings;
    this.maxSeqLen = tokenLimit(opts.maxSeqLen, maxPos);
    if (this.maxSeqLen < opts.maxSeqLen) {
      this.logger.warn(
        { maxSeqLen: opts.maxSeqLen, maxPositionEmbeddings: maxPos, tokens: this.maxSeqLen },
        'scorer.maxSeqLen capped at the model limit (max_position_embeddings + 1 tokens)',
      );
    }
    this.chooser = new PathChooser(opts.path, this.logger);
    this.headChunkBytes = opts.headChunkBytes ?? HEAD_CHUNK_BYTES;
    let params = 0;
    for (const w of opts.model.namedWeights().values()) params += w.size;
    this.weightBytes = 4 * params;
  }

  /** The path in use (undefined while `auto` has not calibrated yet). */
  get path(): ScorerPath | undefined {
    return this.chooser.current;
  }

  get calibration(): Calibration | undefined {
    return this.chooser.calibration;
  }

  /**
   * Scores a batch. Device reads are asynchronous, so a call yields while results download; calls made
   * meanwhile wait their turn, so only one micro-batch's tensors are ever live.
   */
  scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    const run = this.tail.then(() => this.scoreInTurn(trajectories));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async scoreInTurn(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if (this.disposed) throw new ScorerError('SCORING_FAILED', 'scorer was disposed');
    if (this.fatal) throw this.fatal;
    const outcomes = new Array<ScoreOutcome>(trajectories.length);
    const items: Item[] = [];
    trajectories.forEach((t, index) => {
      try {
        const seq = buildSequence(t.turns, {
          tokenizer: this.opts.tokenizer,
          vocabSize: this.opts.model.config.vocab_size,
          maxSeqLen: this.maxSeqLen,
          maxTokens: this.opts.maxTokens,
        });
        items.push({ index, seq });
      } catch (err) {
        outcomes[index] = { ok: false, error: asPrismError(err, `trajectory ${t.id}`) };
      }
    });
    // Similar lengths share a micro-batch, so little compute goes to padding (buckets.ts).
    for (const chunk of lengthBuckets(items, (it) => it.seq.ids.length, this.bucketLimits)) {
      let rows: RowOutcome[];
      try {
        rows = await this.scoreChunk(chunk);
      } catch (err) {
        if (isFatalBackendError(err)) throw this.failFatally(err, chunk);
        const error = asPrismError(err, `scoring a micro-batch of ${chunk.length}`);
        rows = chunk.map(() => error);
      }
      chunk.forEach((item, k) => {
        outcomes[item.index] = this.toOutcome(rows[k], item.seq, trajectories[item.index].id);
      });
      // Let timers and network I/O (e.g. consumer heartbeats) run between micro-batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return outcomes;
  }

  /** The backend died: remember it, so every later call fails fast with the same actionable error. */
  private failFatally(err: unknown, chunk: Item[]): ScorerError {
    const longest = Math.max(...chunk.map((c) => c.seq.ids.length));
    this.fatal = new ScorerError(
      'BACKEND_FAILED',
      `the ${this.backend} backend failed while scoring ${chunk.length} trajectories of up to ${longest} tokens ` +
        `(${errorMessage(err)}); it cannot be used any more. Lower scorer.maxBatchMemoryMB / --max-batch-memory-mb ` +
        `or scorer.maxSeqLen, then restart`,
      { cause: err },
    );
    this.logger.error(
      { err: errorMessage(err), trajectories: chunk.length, longest },
      'scorer backend failed',
    );
    return this.fatal;
  }

  /** Length-sorted runs of at most batchSize, within maxBatchBytes and maxBatchTokens (buckets.ts). */
  private get bucketLimits(): BucketLimits {
    return {
      batchSize: this.opts.batchSize,
      maxSeqLen: this.maxSeqLen,
      maxBatchBytes: this.opts.maxBatchBytes,
      weightBytes: this.weightBytes,
      maxBatchTokens: this.opts.maxBatchTokens,
      model: this.opts.model.config,
    };
  }

  private async scoreChunk(chunk: Item[]): Promise<RowOutcome[]> {
    const path = this.chooser.pathFor(chunk.length);
    if (path === 'per-trajectory') return this.perTrajectory(chunk);
    if (path === 'batched') return this.batchedOrFallback(chunk);
    // Calibration: warm both paths up untimed, then time each on the whole chunk.
    try {
      await this.batched(chunk.slice(0, 2));
    } catch (err) {
      if (isFatalBackendError(err)) throw err;
      this.logger.warn(
        { err: errorMessage(err) },
        'batched path failed during calibration; using per-trajectory',
      );
      this.chooser.force('per-trajectory', 'batched path failed');
      return this.perTrajectory(chunk);
    }
    await this.perTrajectory(chunk.slice(0, 1));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const b = await this.batched(chunk);
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const p = await this.perTrajectory(chunk);
    const t2 = performance.now();
    const c2 = process.cpuUsage();
    const cpuMs = (from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number =>
      (to.user - from.user + to.system - from.system) / 1000;
    let maxRelDiff = 0;
    b.forEach((rb, k) => {
      const rp = p[k];
      if (rp instanceof PrismError) return;
      for (let j = 0; j < rb.norms.length; j++) {
        maxRelDiff = Math.max(
          maxRelDiff,
          Math.abs(rb.norms[j] - rp.norms[j]) / Math.max(Math.abs(rp.norms[j]), 1e-12),
        );
      }
    });
    const backend = tf.getBackend();
    const chosen = this.chooser.record({
      batchedMs: t1 - t0,
      perTrajectoryMs: t2 - t1,
      batchedCpuMs: cpuMs(c0, c1),
      perTrajectoryCpuMs: cpuMs(c1, c2),
      measure: backend === 'wasm' || backend === 'cpu' ? 'cpu' : 'wall',
      trajectories: chunk.length,
      tokens: chunk.reduce((n, it) => n + it.seq.ids.length, 0),
      maxRelDiff,
    });
    return chosen === 'batched' ? b : p;
  }

  private async batchedOrFallback(chunk: Item[]): Promise<RowOutcome[]> {
    try {
      return await this.batched(chunk);
    } catch (err) {
      if (isFatalBackendError(err)) throw err;
      // One bad record must not sink the batch: isolate failures trajectory by trajectory.
      this.logger.warn(
        { err: errorMessage(err), trajectories: chunk.length },
        'batched scoring failed; retrying one by one',
      );
      return this.perTrajectory(chunk);
    }
  }

  private async batched(chunk: Item[]): Promise<Row[]> {
    const packed = packBatch(
      chunk.map((c) => c.seq),
      this.maxSeqLen,
    );
    const t = batchTensors(packed);
    try {
      const res = await this.norms(packed, t, {
        normMethod: this.opts.normMethod,
        split: this.opts.split,
        lengths: packed.lengths,
      });
      return res.norms.map((norms, b) => ({ norms, loss: res.losses[b], targets: packed.targetCounts[b] }));
    } finally {
      tf.dispose([t.inputIds, t.targetIds, t.targetMask]);
    }
  }

  /** Layer-wise backward with the chunked head (layerwise.ts) when the model offers stages; else one tape. */
  private get lean(): boolean {
    return this.headChunkBytes > 0 && supportsLayerwise(this.opts.model);
  }

  private norms(
    packed: PackedBatch,
    t: ReturnType<typeof batchTensors>,
    opts: BatchedOptions,
  ): Promise<NormsResult> {
    const model = this.opts.model;
    if (this.headChunkBytes > 0 && supportsLayerwise(model)) {
      const chunk = this.headChunkBytes;
      return layerwiseProbeNorms(model, t.inputIds, (h, w) => chunkedHeadLoss(h, w, packed, chunk), opts);
    }
    return batchedProbeNorms(model, t.inputIds, packedLoss(packed, t, this.headChunkBytes), opts);
  }

  private async perTrajectory(chunk: Item[]): Promise<RowOutcome[]> {
    const rows: RowOutcome[] = [];
    for (const item of chunk) {
      try {
        const packed = packBatch([item.seq], this.maxSeqLen);
        const t = batchTensors(packed);
        try {
          const res = this.lean
            ? await this.norms(packed, t, { split: this.opts.split, lengths: packed.lengths })
            : await perTrajectoryNorms(
                this.opts.model,
                t.inputIds,
                packedLoss(packed, t, this.headChunkBytes),
              );
          rows.push({ norms: res.norms[0], loss: res.losses[0], targets: packed.targetCounts[0] });
        } finally {
          tf.dispose([t.inputIds, t.targetIds, t.targetMask]);
        }
      } catch (err) {
        if (isFatalBackendError(err)) throw err;
        rows.push(asPrismError(err, `scoring trajectory #${item.index}`));
      }
    }
    return rows;
  }

  private toOutcome(row: RowOutcome, seq: BuiltSequence, id: string): ScoreOutcome {
    if (row instanceof PrismError) return { ok: false, error: row };
    const bad = !Number.isFinite(row.loss) || row.norms.some((v) => !Number.isFinite(v));
    if (bad) {
      return {
        ok: false,
        error: new ScorerError(
          'NON_FINITE_GRADIENT',
          `trajectory ${id}: loss or gradient norm is not finite (loss ${row.loss})`,
        ),
      };
    }
    const stats = concentrationStats(row.norms);
    const scores: PrismScores = {
      ...stats,
      loss: row.loss,
      response_tokens: row.targets,
      truncated: seq.truncated,
      norms: this.opts.emitNorms ? Array.from(row.norms) : null,
    };
    return { ok: true, scores };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.opts.ownsModel !== false) this.opts.model.dispose();
  }
}
