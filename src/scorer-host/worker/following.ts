/**
 * `probe.mode: follow` with the scorer in a worker thread. The follower (on this thread) verifies
 * each ModelUpdate's checkpoint (sha256) and has the worker load it in the background
 * (WorkerScorer.preload); at the start of a micro-batch `swapIfReady()` makes the newest loaded one
 * serve (WorkerScorer.adopt, ordered before that batch) and returns the change, so every micro-batch
 * is scored by exactly the version it is labelled with. Weights never cross the thread boundary.
 */
import type { Logger } from '../../log.ts';
import type { ModelUpdate, Trajectory } from '../../schemas/types.ts';
import type { ScoreOutcome, Scorer } from '../../scorer/types.ts';
import type { ModelFollower } from '../../trainer/model-updates/follower.ts';
import type { WorkerModel, WorkerScorer } from './worker-scorer.ts';

export interface WorkerProbeChange {
  readonly from: { readonly modelId: string; readonly version: string };
  readonly to: { readonly modelId: string; readonly version: string };
  readonly update: ModelUpdate;
}

export interface WorkerFollowingScorerOptions {
  readonly scorer: WorkerScorer;
  /** Loads through `scorer.preload` and frees through `scorer.release`. */
  readonly follower: ModelFollower<WorkerModel>;
  readonly log?: Logger;
}

export class WorkerFollowingScorer implements Scorer {
  constructor(private readonly o: WorkerFollowingScorerOptions) {}

  get probeModelId(): string {
    return this.o.scorer.probeModelId;
  }

  get probeModelVersion(): string {
    return this.o.scorer.probeModelVersion;
  }

  get backend(): string {
    return this.o.scorer.backend;
  }

  get adapter(): string | undefined {
    return this.o.scorer.adapter;
  }

  /** tf.memory().numTensors in the worker. */
  liveTensors(): number {
    return this.o.scorer.liveTensors();
  }

  /** Serves the newest checkpoint the worker has loaded, if any (call between micro-batches). */
  swapIfReady(): WorkerProbeChange | null {
    const swap = this.o.follower.takeSwap();
    if (swap === null) return null;
    const from = { modelId: this.probeModelId, version: this.probeModelVersion };
    this.o.scorer.adopt(swap.model, {
      probeModelId: swap.update.model_id,
      probeModelVersion: swap.update.version,
    });
    const to = { modelId: this.probeModelId, version: this.probeModelVersion };
    this.o.log?.info(
      { from, to, step: swap.update.step },
      'probe model swapped between micro-batches (in the scorer worker)',
    );
    return { from, to, update: swap.update };
  }

  scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    return this.o.scorer.scoreBatch(trajectories);
  }

  dispose(): void {
    this.o.scorer.dispose();
  }
}
