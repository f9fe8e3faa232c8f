import { PrismError, errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ModelUpdate, Trajectory } from '../../schemas/types.ts';
import type { ModelFollower } from '../../trainer/model-updates/follower.ts';
import type { ScoreOutcome, Scorer } from '../../scorer/types.ts';

/** A verified checkpoint folder the service can RELOAD (nothing is loaded in this process). */
export interface TorchCheckpoint {
  readonly dir: string;
}

export interface ProbeChange {
  readonly from: { readonly modelId: string; readonly version: string };
  readonly to: { readonly modelId: string; readonly version: string };
  readonly update: ModelUpdate;
}

export interface TorchFollowingScorerOptions {
  /** The torch scorer on the service (its identity is the starting one). */
  readonly scorer: Scorer;
  readonly follower: ModelFollower<TorchCheckpoint>;
  /** Tells the service to serve `dir` (ServiceSupervisor.reload); rejects if the service refused it. */
  readonly reload: (dir: string, sha256: string) => Promise<unknown>;
  /** The service serves a new checkpoint (counted as applied). */
  readonly onApplied?: (update: ModelUpdate) => void;
  /** A verified checkpoint the service refused to load: counted as rejected. */
  readonly onRejected?: (update: ModelUpdate, err: unknown) => void;
  readonly log?: Logger;
}

/**
 * `probe.mode: follow` with `scorer.kind: torch`. The follower verifies each ModelUpdate (sha256)
 * in the background; once a micro-batch has been scored, a verified checkpoint is RELOADed into the
 * service (still inside the scoring gate: nothing is being scored), and the next `swapIfReady()`,
 * at the start of the next micro-batch, switches the probe identity outputs carry. So a micro-batch
 * is scored by exactly the version it is labelled with. A reload the service refuses keeps the old
 * model serving under the old identity and is reported through `onRejected`.
 */
export class TorchFollowingScorer implements Scorer {
  private current: { modelId: string; version: string };
  private pending: ProbeChange | null = null;

  constructor(private readonly o: TorchFollowingScorerOptions) {
    this.current = { modelId: o.scorer.probeModelId, version: o.scorer.probeModelVersion };
  }

  get probeModelId(): string {
    return this.current.modelId;
  }

  get probeModelVersion(): string {
    return this.current.version;
  }

  get backend(): string {
    return this.o.scorer.backend;
  }

  /** Adopts a checkpoint the service already reloaded (call between micro-batches). */
  swapIfReady(): ProbeChange | null {
    const change = this.pending;
    if (change === null) return null;
    this.pending = null;
    this.current = { ...change.to };
    this.o.log?.info(
      { from: change.from, to: change.to, step: change.update.step },
      'probe model swapped between micro-batches (torch service reloaded)',
    );
    return change;
  }

  /** Reloads the newest verified checkpoint into the service, if one is ready; true when it did. */
  async reloadIfReady(): Promise<boolean> {
    const swap = this.o.follower.takeSwap();
    if (swap === null) return false;
    const { update } = swap;
    try {
      await this.o.reload(swap.model.dir, update.sha256);
    } catch (err) {
      this.o.log?.error(
        {
          version: update.version,
          dir: swap.model.dir,
          err: errorMessage(err),
          serving: this.current.version,
        },
        'torch scorer service refused the checkpoint; the current version keeps serving',
      );
      this.o.onRejected?.(update, err);
      return false;
    }
    this.o.onApplied?.(update);
    this.pending = {
      from: this.pending?.from ?? { ...this.current },
      to: { modelId: update.model_id, version: update.version },
      update,
    };
    return true;
  }

  async scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if (this.pending !== null) {
      // Reloaded but not adopted: the service serves the new weights, and the caller would label
      // them with the old version. The score operator always swaps first; anything else is a bug.
      throw new PrismError(
        'SCORER_CONTRACT',
        'TorchFollowingScorer: call swapIfReady() before scoreBatch() once a checkpoint was reloaded',
      );
    }
    const outcomes = await this.o.scorer.scoreBatch(trajectories);
    await this.reloadIfReady();
    return outcomes;
  }

  dispose(): void {
    this.o.scorer.dispose();
  }
}
