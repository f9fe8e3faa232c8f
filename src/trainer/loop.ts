import type * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../log.ts';
import type { ModelUpdate } from '../schemas/types.ts';
import { GroupWindow, type AdvantageOptions, type BaselineState } from './advantages.ts';
import type { CheckpointRef, CheckpointStore } from './checkpoint/store.ts';
import { TrainerError, TrainerReason } from './errors.ts';
import type { IdLog } from './id-log.ts';
import type { TrainerMetrics } from './metrics.ts';
import { OffsetLedger } from './offsets.ts';
import { AdamW } from './optim/adamw.ts';
import { GradAccumulator } from './optim/accumulator.ts';
import { clipByGlobalNorm } from './optim/clip.ts';
import { learningRate, type LrSchedule } from './optim/schedule.ts';
import type { InputRecord, Rejected, StepEngine, TrainItem, TrainerKind, TrainerSink } from './types.ts';
import { PrismError } from '../errors.ts';

export interface LoopOptions {
  trainer: TrainerKind;
  modelId: string;
  consumerGroup: string;
  microBatchSize: number;
  maxBatchWaitMs: number;
  gradAccumulation: number;
  maxGradNorm: number;
  schedule: LrSchedule;
  checkpointEverySteps: number;
  checkpointEverySeconds: number;
  keepCheckpoints: number;
  /** RL only: group window settings. */
  advantage?: AdvantageOptions;
}

/** Where the loop starts: step, optimizer state already loaded, ledger restored from the manifest. */
export interface LoopStart {
  step: number;
  /** Checkpoint path or model folder this lineage starts from. */
  parent: string | null;
  version: string | null;
  baseline?: BaselineState;
  counters?: { records: number; tokens: number };
  /** When the resumed checkpoint was written (checkpoint age metric). */
  checkpointAt?: number;
}

export interface LoopDeps<P> {
  engine: StepEngine<P>;
  params: Map<string, tf.Variable>;
  optimizer: AdamW;
  store: CheckpointStore;
  /** Writes the current model (HF folder) into dir. */
  writeWeights: (dir: string) => Promise<void>;
  /** Writes the optimizer state into dir, returns the file name. */
  writeOptimizer: (dir: string) => Promise<string>;
  sink: TrainerSink;
  ledger: OffsetLedger;
  idLog?: IdLog;
  metrics?: TrainerMetrics;
  log: Logger;
  now?: () => number;
}

interface Ready<P> {
  item: TrainItem<P>;
  readyAt: number;
}

export interface StepSummary {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  records: number;
  tokens: number;
}

/**
 * The continuous training loop, without Kafka: records are offered, trained in micro-batches,
 * stepped with AdamW, and checkpointed. Offsets become "done" only when their step is applied
 * (or their DLQ write acked); checkpoints carry the ledger snapshot, and only after a checkpoint
 * exists are offsets committed and a ModelUpdate published.
 */
export class TrainerLoop<P> {
  private readonly ready: Ready<P>[] = [];
  private readonly window: GroupWindow<TrainItem<P>> | undefined;
  private readonly acc = new GradAccumulator();
  private accItems: TrainItem<P>[] = [];
  private accLoss = 0;
  private accTokens = 0;
  private accStats: Record<string, number> = {};
  private accStartedAt = 0;
  private lastMicroAt = 0;
  private stepNo: number;
  private stepsSinceCheckpoint = 0;
  private lastCheckpointAt: number;
  private records: number;
  private tokens: number;
  private parent: string | null;
  private lastLoss = Number.NaN;
  private lastCheckpoint: CheckpointRef | undefined;
  private readonly now: () => number;
  private readonly listeners: ((s: StepSummary) => void)[] = [];

  constructor(
    private readonly opts: LoopOptions,
    private readonly deps: LoopDeps<P>,
    start: LoopStart,
  ) {
    this.now = deps.now ?? Date.now;
    this.stepNo = start.step;
    this.parent = start.parent;
    this.records = start.counters?.records ?? 0;
    this.tokens = start.counters?.tokens ?? 0;
    this.lastCheckpointAt = this.now();
    if (opts.trainer === 'rl') {
      if (!opts.advantage) throw new Error('rl trainer loop needs advantage options');
      this.window = new GroupWindow(opts.advantage, start.baseline);
    }
    deps.metrics?.modelStep.set(this.stepNo);
    if (start.checkpointAt !== undefined) deps.metrics?.checkpointAt(start.checkpointAt);
  }

  get step(): number {
    return this.stepNo;
  }

  get latestCheckpoint(): CheckpointRef | undefined {
    return this.lastCheckpoint;
  }

  /** Records consumed but not yet part of an applied step. */
  get pending(): number {
    return this.ready.length + (this.window?.pendingCount ?? 0) + this.accItems.length;
  }

  onStep(fn: (s: StepSummary) => void): void {
    this.listeners.push(fn);
  }

  /** Dead-letters records that failed before reaching the loop (decode errors); done once the DLQ acked. */
  async reject(rejected: readonly Rejected[]): Promise<void> {
    if (rejected.length === 0) return;
    await this.deps.sink.deadLetter(rejected);
    for (const { record, error } of rejected) {
      this.deps.ledger.complete(record.topic, record.partition, record.offset);
      this.deps.metrics?.deadLetters.inc({ reason: error.code });
      this.deps.log.warn(
        {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          reason: error.code,
          err: error.message,
        },
        'record dead-lettered',
      );
    }
  }

  /**
   * Accepts delivered records (already filtered by the ledger: none was done in this lineage).
   * Records that cannot be trained go to the DLQ and are done once the DLQ acked them.
   */
  async offer(records: readonly InputRecord[]): Promise<void> {
    const rejected: Rejected[] = [];
    const now = this.now();
    for (const record of records) {
      if (this.opts.trainer === 'rl') {
        const reward = record.value.trajectory.reward;
        if (reward === null || reward === undefined || !Number.isFinite(reward)) {
          rejected.push({
            record,
            error: new TrainerError(
              TrainerReason.MISSING_REWARD,
              `trajectory ${record.value.trajectory.id} has no reward (${String(reward)}); the RL trainer needs one`,
            ),
          });
          continue;
        }
      }
      const p = this.deps.engine.prepare(record);
      if (!p.ok) {
        rejected.push({ record, error: p.error });
        continue;
      }
      const item: TrainItem<P> = { record, prepared: p.prepared };
      if (this.window) {
        const reward = record.value.trajectory.reward as number;
        for (const r of this.window.push(record.value.trajectory.task_id, reward, item, now)) {
          this.ready.push({
            item: { ...r.item, reward: r.reward, advantage: r.advantage, groupSize: r.groupSize },
            readyAt: now,
          });
        }
      } else {
        this.ready.push({ item, readyAt: now });
      }
    }
    await this.reject(rejected);
    this.updatePending();
  }

  /**
   * Trains what is due: full micro-batches, and partial ones that waited maxBatchWaitMs (or all of
   * them with flush). Calls `between()` after every micro-batch (heartbeats; weight swaps never
   * happen inside one). Then writes a checkpoint when one is due.
   */
  async pump(
    between: () => Promise<void> = async () => undefined,
    opts: { flush?: boolean } = {},
  ): Promise<void> {
    const flush = opts.flush === true;
    if (this.window) {
      const released = flush ? this.window.flush() : this.window.expire(this.now());
      const now = this.now();
      for (const r of released) {
        this.ready.push({
          item: { ...r.item, reward: r.reward, advantage: r.advantage, groupSize: r.groupSize },
          readyAt: now,
        });
      }
    }
    const mb = this.opts.microBatchSize;
    for (;;) {
      const due =
        this.ready.length >= mb ||
        (this.ready.length > 0 && (flush || this.now() - this.ready[0].readyAt >= this.opts.maxBatchWaitMs));
      if (!due) break;
      const batch = this.ready.splice(0, mb).map((r) => r.item);
      this.trainMicroBatch(batch);
      await between();
      // A partial micro-batch means the stream is quiet: step now rather than hold records back.
      if (this.acc.microBatches >= this.opts.gradAccumulation || batch.length < mb) {
        this.applyStep();
        await this.maybeCheckpoint();
      }
    }
    const idle = this.now() - this.lastMicroAt >= this.opts.maxBatchWaitMs;
    if (this.acc.microBatches > 0 && this.ready.length === 0 && (flush || idle)) {
      this.applyStep();
    }
    await this.maybeCheckpoint();
    this.updatePending();
  }

  private trainMicroBatch(items: TrainItem<P>[]): void {
    if (this.acc.microBatches === 0) this.accStartedAt = this.now();
    const r = this.deps.engine.computeGrads(items);
    try {
      if (!Number.isFinite(r.lossSum)) {
        throw new TrainerError(
          TrainerReason.NON_FINITE_LOSS,
          `loss is ${r.lossSum} on a micro-batch of ${items.length} records (first offset ${items[0]?.record.offset}); stopping before it reaches the weights`,
        );
      }
      this.acc.add(r.grads, r.weight);
    } finally {
      for (const g of r.grads.values()) g.dispose();
    }
    this.accItems.push(...items);
    this.accLoss += r.lossSum;
    this.accTokens += r.tokens;
    for (const [k, v] of Object.entries(r.stats)) this.accStats[k] = (this.accStats[k] ?? 0) + v;
    this.lastMicroAt = this.now();
  }

  private applyStep(): void {
    const weight = this.acc.totalWeight;
    const items = this.accItems;
    if (weight <= 0) {
      // Every record had zero weight (cannot happen for SFT: prepare rejects records without targets).
      this.acc.reset();
    } else {
      const grads = this.acc.take(1 / weight);
      const clipped = clipByGlobalNorm(grads, this.opts.maxGradNorm);
      for (const g of grads.values()) g.dispose();
      if (!Number.isFinite(clipped.norm)) {
        for (const g of clipped.grads.values()) g.dispose();
        throw new TrainerError(
          TrainerReason.NON_FINITE_LOSS,
          `gradient norm is ${clipped.norm} at step ${this.stepNo + 1}; refusing to apply it`,
        );
      }
      const lr = learningRate(this.stepNo + 1, this.opts.schedule);
      this.deps.optimizer.step(clipped.grads, lr);
      for (const g of clipped.grads.values()) g.dispose();
      this.stepNo += 1;
      this.stepsSinceCheckpoint += 1;
      this.lastLoss = this.accLoss / weight;
      this.recordStep(items, lr, clipped.norm, weight);
    }
    // The step is applied: its records are done (and logged) before any checkpoint can include them.
    for (const it of items) this.deps.ledger.complete(it.record.topic, it.record.partition, it.record.offset);
    this.accItems = [];
    this.accLoss = 0;
    this.accTokens = 0;
    this.accStats = {};
  }

  private recordStep(items: TrainItem<P>[], lr: number, gradNorm: number, weight: number): void {
    const now = this.now();
    this.records += items.length;
    this.tokens += this.accTokens;
    this.deps.idLog?.trained(
      items.map((it) => ({
        id: it.record.value.trajectory.id,
        step: this.stepNo,
        topic: it.record.topic,
        partition: it.record.partition,
        offset: it.record.offset,
      })),
    );
    const m = this.deps.metrics;
    if (m) {
      m.steps.inc();
      m.records.inc(items.length);
      m.tokens.inc(this.accTokens);
      m.loss.set(this.lastLoss);
      m.lr.set(lr);
      m.gradNorm.set(gradNorm);
      m.modelStep.set(this.stepNo);
      m.stepSeconds.observe((now - this.accStartedAt) / 1000);
      m.observeStep(now, this.accTokens);
      if (this.opts.trainer === 'rl') {
        const adv = items.map((i) => i.advantage ?? 0);
        const rew = items.map((i) => i.reward ?? 0);
        const mean = adv.reduce((a, b) => a + b, 0) / adv.length;
        m.advantageMean.set(mean);
        m.advantageStd.set(Math.sqrt(adv.reduce((a, b) => a + (b - mean) ** 2, 0) / adv.length));
        m.advantageAbsMax.set(Math.max(...adv.map(Math.abs)));
        m.rewardMean.set(rew.reduce((a, b) => a + b, 0) / rew.length);
        const toks = this.accTokens > 0 ? this.accTokens : 1;
        m.clipFraction.set((this.accStats.clipped ?? 0) / toks);
        m.kl.set((this.accStats.kl ?? 0) / toks);
      }
    }
    const summary: StepSummary = {
      step: this.stepNo,
      loss: this.lastLoss,
      lr,
      gradNorm,
      records: items.length,
      tokens: this.accTokens,
    };
    this.deps.log.debug({ ...summary, weight }, 'step');
    for (const fn of this.listeners) fn(summary);
  }

  private async maybeCheckpoint(): Promise<void> {
    if (this.stepsSinceCheckpoint === 0) return;
    const byStep = this.stepsSinceCheckpoint >= this.opts.checkpointEverySteps;
    const byTime = this.now() - this.lastCheckpointAt >= this.opts.checkpointEverySeconds * 1000;
    if (byStep || byTime) await this.checkpoint();
  }

  /**
   * Writes a checkpoint of the current step (if any step since the last one), then commits the
   * ledger's watermarks and publishes a ModelUpdate. Records still queued or accumulating are not
   * in it: they stay uncommitted and are re-read after a crash.
   */
  async checkpoint(): Promise<CheckpointRef | undefined> {
    if (this.stepsSinceCheckpoint === 0) return this.lastCheckpoint;
    const offsets = this.deps.ledger.snapshot();
    const metrics: Record<string, number> = { records: this.records, tokens: this.tokens };
    if (Number.isFinite(this.lastLoss)) metrics.loss = this.lastLoss;
    const ref = await this.deps.store.write({
      step: this.stepNo,
      trainer: this.opts.trainer,
      consumerGroup: this.opts.consumerGroup,
      parent: this.parent,
      offsets,
      state: {
        records: this.records,
        tokens: this.tokens,
        ...(this.window ? { baseline: this.window.baseline.state } : {}),
      },
      metrics,
      optimizerStep: this.deps.optimizer.stepCount,
      writeWeights: this.deps.writeWeights,
      writeOptimizer: this.deps.writeOptimizer,
    });
    this.lastCheckpoint = ref;
    this.parent = ref.path;
    this.stepsSinceCheckpoint = 0;
    this.lastCheckpointAt = this.now();
    this.deps.metrics?.checkpoints.inc();
    this.deps.metrics?.checkpointAt(Date.now());
    this.deps.log.info(
      { step: ref.manifest.step, version: ref.manifest.version, path: ref.path },
      'checkpoint written',
    );
    // Only now may the consumed offsets be committed: the checkpoint that trained them exists.
    await this.deps.sink.commit(offsets);
    const update: ModelUpdate = {
      model_id: this.opts.modelId,
      version: ref.manifest.version,
      step: ref.manifest.step,
      uri: pathToFileURL(ref.path).href,
      sha256: ref.manifest.sha256,
      created_at: ref.manifest.createdAt,
      trainer: this.opts.trainer,
      metrics,
    };
    try {
      await this.deps.sink.publish(update);
    } catch (err) {
      // Training state is safe on disk; followers just see this version late (the next update supersedes it).
      this.deps.metrics?.publishFailures.inc();
      this.deps.log.error(
        { err: err instanceof PrismError ? err.message : String(err), version: update.version },
        'ModelUpdate not published',
      );
    }
    const removed = await this.deps.store.prune(this.opts.keepCheckpoints);
    if (removed.length > 0) this.deps.log.debug({ removed }, 'old checkpoints pruned');
    return ref;
  }

  private updatePending(): void {
    this.deps.metrics?.pendingRecords.set(this.pending);
  }

  /** When the next time-based action (batch wait, group expiry, checkpoint) is due, in ms from now. */
  nextDueIn(): number {
    const now = this.now();
    const cands: number[] = [];
    if (this.ready.length > 0) cands.push(this.ready[0].readyAt + this.opts.maxBatchWaitMs - now);
    if (this.acc.microBatches > 0) cands.push(this.lastMicroAt + this.opts.maxBatchWaitMs - now);
    const w = this.window?.nextExpiryIn(now);
    if (w !== undefined) cands.push(w);
    if (this.stepsSinceCheckpoint > 0)
      cands.push(this.lastCheckpointAt + this.opts.checkpointEverySeconds * 1000 - now);
    return cands.length === 0 ? Number.POSITIVE_INFINITY : Math.max(0, Math.min(...cands));
  }
}
