import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ModelUpdate } from '../../schemas/types.ts';
import { checkpointPathOf, verifyCheckpoint } from '../checkpoint/store.ts';
import { CheckpointError, TrainerReason } from '../errors.ts';

/** A verified, loaded model ready to replace the serving one. */
export interface ModelSwap<M> {
  model: M;
  update: ModelUpdate;
  /** Local folder the weights were loaded from. */
  path: string;
}

export type FollowEvent =
  /** Verified and loaded: the next takeSwap() returns it. */
  | { kind: 'loaded'; update: ModelUpdate }
  /** Returned by takeSwap(): serving from now on. */
  | { kind: 'applied'; update: ModelUpdate }
  | { kind: 'rejected'; update: ModelUpdate; error: CheckpointError }
  | { kind: 'ignored'; update: ModelUpdate; reason: string };

export interface FollowerOptions<M> {
  /** The model id to follow (ModelUpdate key / model_id). */
  modelId: string;
  /** Version and step currently serving (e.g. the frozen start model: step -1). */
  current: { version: string; step: number };
  /** Loads a verified checkpoint folder (default in probe follow mode: src/model-store/llama.ts loadModel). */
  load: (dir: string) => Promise<M>;
  /** Frees a loaded model that is superseded before it was taken. */
  dispose: (model: M) => void;
  /** Checks a loaded model against the serving one (vocabulary, architecture); throw to refuse. */
  accept?: (model: M) => void;
  /** Recomputes the sha256 of the folder's weights; default verifyCheckpoint. */
  verify?: (dir: string, sha256: string) => Promise<unknown>;
  log?: Logger;
  onEvent?: (e: FollowEvent) => void;
}

/**
 * Follows ModelUpdates of one model id for a serving process (the arbitrator in `probe.mode:
 * follow`). Updates are verified (sha256 over the weight files) and loaded in the background;
 * the caller swaps between micro-batches by calling `takeSwap()`, so a micro-batch never mixes
 * versions. A bad checkpoint is refused with a CheckpointError event and the serving model stays.
 * Only the newest update matters: one arriving during a load supersedes any still waiting.
 */
export class ModelFollower<M> {
  private serving: { version: string; step: number };
  /** Newest update accepted for loading (or serving): never go back behind it. */
  private newest: { version: string; step: number };
  private ready: ModelSwap<M> | null = null;
  private waiting: ModelUpdate | null = null;
  private loading: Promise<void> | null = null;
  private lastError: CheckpointError | null = null;
  private closed = false;

  constructor(private readonly o: FollowerOptions<M>) {
    this.serving = { ...o.current };
    this.newest = { ...o.current };
  }

  /** Version currently serving (after the last takeSwap). */
  get current(): { version: string; step: number } {
    return { ...this.serving };
  }

  /** The last refusal, for health endpoints and logs (cleared by the next applied update). */
  get error(): CheckpointError | null {
    return this.lastError;
  }

  /** Feeds one ModelUpdate (any model id; others are ignored). Never throws. */
  offer(update: ModelUpdate): void {
    if (this.closed) return;
    if (update.model_id !== this.o.modelId) return;
    const newest = this.newest;
    if (update.version === newest.version)
      return this.emit({ kind: 'ignored', update, reason: 'already current' });
    if (update.step < newest.step) {
      return this.emit({ kind: 'ignored', update, reason: `older than step ${newest.step}` });
    }
    this.newest = { version: update.version, step: update.step };
    this.waiting = update;
    if (this.loading === null) this.loading = this.drain();
  }

  /**
   * Call between micro-batches: returns the next verified model to serve (the caller now owns it
   * and disposes the old one), or null. Sync and cheap; loading happened in the background.
   */
  takeSwap(): ModelSwap<M> | null {
    const swap = this.ready;
    if (swap === null) return null;
    this.ready = null;
    this.serving = { version: swap.update.version, step: swap.update.step };
    this.lastError = null;
    this.emit({ kind: 'applied', update: swap.update });
    return swap;
  }

  /** Resolves when no load is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.loading !== null) await this.loading;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting = null;
    await this.idle();
    if (this.ready) {
      this.o.dispose(this.ready.model);
      this.ready = null;
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting !== null && !this.closed) {
        const update = this.waiting;
        this.waiting = null;
        const swap = await this.prepare(update);
        if (swap === null) continue;
        if (this.closed) {
          this.o.dispose(swap.model);
          continue;
        }
        // Still newer than what serves: make it ready even if another update waits (progress
        // under a fast update cadence); the waiting one replaces it once loaded.
        if (this.ready) this.o.dispose(this.ready.model);
        this.ready = swap;
        this.emit({ kind: 'loaded', update: swap.update });
      }
    } finally {
      this.loading = null;
    }
  }

  private async prepare(update: ModelUpdate): Promise<ModelSwap<M> | null> {
    const path = checkpointPathOf(update.uri);
    try {
      await (this.o.verify ?? verifyCheckpoint)(path, update.sha256);
    } catch (err) {
      this.refuse(update, err);
      return null;
    }
    let model: M;
    try {
      model = await this.o.load(path);
    } catch (err) {
      this.refuse(update, err);
      return null;
    }
    try {
      this.o.accept?.(model);
    } catch (err) {
      this.o.dispose(model);
      this.refuse(update, err);
      return null;
    }
    this.o.log?.info(
      { modelId: update.model_id, version: update.version, step: update.step, path },
      'model update verified and loaded',
    );
    return { model, update, path };
  }

  private refuse(update: ModelUpdate, err: unknown): void {
    const error =
      err instanceof CheckpointError
        ? err
        : new CheckpointError(
            TrainerReason.CHECKPOINT_LOAD_FAILED,
            `model update ${update.model_id}@${update.version} (${update.uri}) cannot be loaded: ${errorMessage(err)}`,
            { cause: err },
          );
    this.lastError = error;
    this.o.log?.error(
      {
        modelId: update.model_id,
        version: update.version,
        uri: update.uri,
        code: error.code,
        err: error.message,
        serving: this.serving.version,
      },
      'model update refused; the current version keeps serving',
    );
    this.emit({ kind: 'rejected', update, error });
  }

  private emit(e: FollowEvent): void {
    this.o.onEvent?.(e);
  }
}
