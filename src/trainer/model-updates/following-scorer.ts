import type { Logger } from '../../log.ts';
import type { ModelUpdate, Trajectory } from '../../schemas/types.ts';
import type { ScoreOutcome, Scorer } from '../../scorer/types.ts';
import type { ModelFollower } from './follower.ts';

export interface VersionChange {
  from: { modelId: string; version: string };
  to: { modelId: string; version: string };
  update: ModelUpdate;
}

export interface FollowingScorerOptions<M> {
  follower: ModelFollower<M>;
  /** The scorer serving at start (frozen model). */
  initial: Scorer;
  /** Builds a scorer on a newly loaded model; it takes ownership of the model. */
  makeScorer: (model: M, update: ModelUpdate) => Scorer;
  log?: Logger;
}

/**
 * A Scorer whose probe model follows a trainer (`probe.mode: follow`). It never swaps on its own:
 * the arbitrator calls `swapIfReady()` at a micro-batch boundary (inside its scoring gate, before it
 * reads probeModelId/probeModelVersion for the batch), so every micro-batch is scored by exactly
 * one version, and a non-null result tells it to open a new arbitration window.
 */
export class FollowingScorer<M> implements Scorer {
  private current: Scorer;

  constructor(private readonly o: FollowingScorerOptions<M>) {
    this.current = o.initial;
  }

  get probeModelId(): string {
    return this.current.probeModelId;
  }

  get probeModelVersion(): string {
    return this.current.probeModelVersion;
  }

  get backend(): string {
    return this.current.backend;
  }

  get adapter(): string | undefined {
    return this.current.adapter;
  }

  /** Swaps to the newest verified model if one is ready; the old scorer (and its model) is disposed. */
  swapIfReady(): VersionChange | null {
    const swap = this.o.follower.takeSwap();
    if (swap === null) return null;
    const from = { modelId: this.current.probeModelId, version: this.current.probeModelVersion };
    let next: Scorer;
    try {
      next = this.o.makeScorer(swap.model, swap.update);
    } catch (err) {
      this.o.log?.error(
        { err, version: swap.update.version },
        'cannot build a scorer on the new model; keeping the old one',
      );
      return null;
    }
    const old = this.current;
    this.current = next;
    old.dispose();
    const to = { modelId: next.probeModelId, version: next.probeModelVersion };
    this.o.log?.info({ from, to, step: swap.update.step }, 'probe model swapped between micro-batches');
    return { from, to, update: swap.update };
  }

  scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    return this.current.scoreBatch(trajectories);
  }

  dispose(): void {
    this.current.dispose();
  }
}
