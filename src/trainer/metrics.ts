import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TrainerKind } from './types.ts';

/**
 * Prometheus metrics of one trainer process (prefix prism_trainer_, label trainer=sft|rl).
 * Rates (steps/s, tokens/s) are exported both as counters (use rate() in PromQL) and as gauges
 * smoothed over the last steps, for dashboards without PromQL.
 */
export class TrainerMetrics {
  readonly registry = new Registry();
  readonly steps: Counter;
  readonly records: Counter;
  readonly tokens: Counter;
  readonly deadLetters: Counter<'reason'>;
  readonly checkpoints: Counter;
  readonly publishFailures: Counter;
  readonly commitsSkipped: Counter;
  readonly loss: Gauge;
  readonly lr: Gauge;
  readonly gradNorm: Gauge;
  readonly modelStep: Gauge;
  readonly stepsPerSecond: Gauge;
  readonly tokensPerSecond: Gauge;
  readonly rewardMean: Gauge;
  readonly advantageMean: Gauge;
  readonly advantageStd: Gauge;
  readonly advantageAbsMax: Gauge;
  readonly clipFraction: Gauge;
  readonly kl: Gauge;
  readonly pendingRecords: Gauge;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly stepSeconds: Histogram;
  private lastCheckpointAt: number | null = null;
  private readonly rateWindow: { at: number; tokens: number }[] = [];

  constructor(readonly trainer: TrainerKind) {
    const r = [this.registry];
    this.registry.setDefaultLabels({ trainer });
    collectDefaultMetrics({ register: this.registry, prefix: 'prism_trainer_process_' });
    const c = (name: string, help: string) =>
      new Counter({ name: `prism_trainer_${name}`, help, registers: r });
    const g = (name: string, help: string) =>
      new Gauge({ name: `prism_trainer_${name}`, help, registers: r });
    this.steps = c('steps_total', 'Optimizer steps applied.');
    this.records = c(
      'records_trained_total',
      'Input records trained on (counted when their step is applied).',
    );
    this.tokens = c('tokens_trained_total', 'Target tokens trained on.');
    this.deadLetters = new Counter({
      name: 'prism_trainer_dead_letters_total',
      help: 'Records sent to the DLQ, by reason code.',
      labelNames: ['reason'],
      registers: r,
    });
    this.checkpoints = c('checkpoints_total', 'Checkpoints written.');
    this.publishFailures = c(
      'model_update_publish_failures_total',
      'ModelUpdates that could not be published.',
    );
    this.commitsSkipped = c(
      'offset_commits_skipped_total',
      'Offset commits skipped because the member was evicted (the checkpoint holds the offsets).',
    );
    this.loss = g('loss', 'Loss of the last optimizer step (mean over its tokens or sequences).');
    this.lr = g('learning_rate', 'Learning rate of the last step.');
    this.gradNorm = g('grad_norm', 'Global gradient L2 norm of the last step, before clipping.');
    this.modelStep = g('model_step', 'Optimizer step of the current weights.');
    this.stepsPerSecond = g('steps_per_second', 'Optimizer steps per second over the last minute.');
    this.tokensPerSecond = g('tokens_per_second', 'Target tokens per second over the last minute.');
    this.rewardMean = g('reward_mean', 'RL: mean reward of the last step.');
    this.advantageMean = g('advantage_mean', 'RL: mean advantage of the last step.');
    this.advantageStd = g('advantage_std', 'RL: standard deviation of the advantages of the last step.');
    this.advantageAbsMax = g('advantage_abs_max', 'RL: largest |advantage| of the last step.');
    this.clipFraction = g(
      'clip_fraction',
      'RL: fraction of tokens whose importance ratio was clipped in the last step.',
    );
    this.kl = g('kl', 'RL: mean k3 KL to the reference model in the last step (0 when off).');
    this.pendingRecords = g(
      'pending_records',
      'Records consumed but not yet trained (queued, grouped, or accumulating).',
    );
    this.lag = new Gauge({
      name: 'prism_trainer_lag_records',
      help: 'Input records not yet trained: high watermark minus the trained watermark, per partition.',
      labelNames: ['topic', 'partition'],
      registers: r,
    });
    this.stepSeconds = new Histogram({
      name: 'prism_trainer_step_seconds',
      help: 'Wall time of one optimizer step including its micro-batches.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: r,
    });
    const age = (): number =>
      this.lastCheckpointAt === null ? Number.NaN : (Date.now() - this.lastCheckpointAt) / 1000;
    new Gauge({
      name: 'prism_trainer_checkpoint_age_seconds',
      help: 'Seconds since the last checkpoint was written or resumed from (NaN before any).',
      registers: r,
      collect() {
        this.set(age());
      },
    });
  }

  checkpointAt(ms: number): void {
    this.lastCheckpointAt = ms;
  }

  /** Updates the smoothed rates after a step. */
  observeStep(now: number, tokens: number): void {
    this.rateWindow.push({ at: now, tokens });
    while (this.rateWindow.length > 1 && now - this.rateWindow[0].at > 60_000) this.rateWindow.shift();
    if (this.rateWindow.length >= 2) {
      const span = (now - this.rateWindow[0].at) / 1000;
      const toks = this.rateWindow.slice(1).reduce((a, b) => a + b.tokens, 0);
      if (span > 0) {
        this.stepsPerSecond.set((this.rateWindow.length - 1) / span);
        this.tokensPerSecond.set(toks / span);
      }
    }
  }
}
