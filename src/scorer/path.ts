import type { Logger } from '../log.ts';
import type { ScorerPathSetting } from '../config/scorer.ts';

export type ScorerPath = 'batched' | 'per-trajectory';

export interface Calibration {
  /** Wall time of each path on the calibration batch. */
  batchedMs: number;
  perTrajectoryMs: number;
  /** Process CPU time (user + system) of each path. */
  batchedCpuMs: number;
  perTrajectoryCpuMs: number;
  /** Which of the two was compared (see PathChooser). */
  measure: 'wall' | 'cpu';
  trajectories: number;
  tokens: number;
  /** Largest relative difference between the two paths' norms on the calibration batch (a live cross-check). */
  maxRelDiff: number;
}

/**
 * Decides which path scores a micro-batch. A fixed setting is used as is. `auto` times both paths
 * on the first micro-batch with at least two scorable trajectories (after an untimed warm-up of
 * each) and keeps the faster one for the scorer's lifetime; the decision and timings are logged.
 * Single-trajectory batches always take the per-trajectory path (batching one gains nothing).
 *
 * On the wasm and cpu backends all work is single-threaded JS/wasm on the calling thread, so process
 * CPU time measures the work itself and is immune to other processes competing for the cores (wall
 * time on a loaded 2-core box varied 2× between identical runs). Native and GPU backends run their own
 * thread pools and devices, so there wall time is the measure.
 */
export class PathChooser {
  private chosen: ScorerPath | undefined;
  private calibrationResult: Calibration | undefined;

  constructor(
    private readonly setting: ScorerPathSetting,
    private readonly logger: Logger,
  ) {
    if (setting !== 'auto') {
      this.chosen = setting;
      logger.info({ path: setting, reason: 'config' }, `scorer path: ${setting} (scorer.path)`);
    }
  }

  /** The path for a batch of `n` scorable trajectories, or 'calibrate' when auto has not decided yet. */
  pathFor(n: number): ScorerPath | 'calibrate' {
    if (n <= 1) return 'per-trajectory';
    return this.chosen ?? 'calibrate';
  }

  record(c: Calibration): ScorerPath {
    this.calibrationResult = c;
    const [b, p] =
      c.measure === 'cpu' ? [c.batchedCpuMs, c.perTrajectoryCpuMs] : [c.batchedMs, c.perTrajectoryMs];
    this.chosen = b <= p ? 'batched' : 'per-trajectory';
    this.logger.info(
      { path: this.chosen, reason: 'measured', ...c, speedup: Math.max(b, p) / Math.min(b, p) },
      `scorer path: ${this.chosen} (measured ${c.measure} time on ${c.trajectories} trajectories: ` +
        `batched ${b.toFixed(0)} ms, per-trajectory ${p.toFixed(0)} ms)`,
    );
    return this.chosen;
  }

  /** Settles the path without measuring (e.g. the batched path cannot run this model/backend). */
  force(path: ScorerPath, reason: string): void {
    this.chosen = path;
    this.logger.info({ path, reason }, `scorer path: ${path} (${reason})`);
  }

  get current(): ScorerPath | undefined {
    return this.chosen;
  }

  get calibration(): Calibration | undefined {
    return this.calibrationResult;
  }
}
