/**
 * WorkerScorer: the PRISM scorer behind the same `Scorer` interface, run in a worker thread that
 * holds the backend and the probe model (entry.ts). Only trajectories and folder paths go in and
 * score vectors come out (protocol.ts); the main thread never runs a tfjs op, so its event loop stays free.
 *
 * Failure model:
 * - a bad record: a typed `{ ok: false }` outcome, rebuilt with the worker's code and name;
 * - the scorer in the worker throws (e.g. BACKEND_FAILED): scoreBatch rejects with that typed error;
 * - the worker dies (crash, out of memory, exit): the micro-batch in flight rejects with
 *   `WORKER_CRASHED` (its transaction aborts upstream) and the next call starts a fresh worker,
 *   on the model it served last (an adopted checkpoint is loaded again from its folder).
 */
import { PrismError, errorMessage } from '../../errors.ts';
import { log as rootLog, type Logger } from '../../log.ts';
import type { Trajectory } from '../../schemas/types.ts';
import type { ScoreOutcome, Scorer } from '../../scorer/types.ts';
import type { WireError, WireIdentity, WorkerInit } from './protocol.ts';
import { ScorerThread, WorkerScorerError, type Identity } from './thread.ts';

export { WorkerScorerError, type WorkerScorerErrorCode } from './thread.ts';

/** A checkpoint loaded into a worker (probe.mode follow), not serving yet. */
export interface WorkerModel {
  readonly dir: string;
  /** The worker that holds it and its handle there. */
  readonly thread: ScorerThread;
  readonly handle: number;
}

export interface WorkerScorerOptions {
  readonly logger?: Logger;
}

export class WorkerScorer implements Scorer {
  private thread: ScorerThread;
  private identity: Identity;
  private init: WorkerInit;
  private readonly logger: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** An adopted checkpoint the worker could not serve: every later batch fails with it. */
  private adoptFailure: WorkerScorerError | undefined;
  /** Workers started after a crash. */
  restarts = 0;

  private constructor(init: WorkerInit, thread: ScorerThread, identity: Identity, logger: Logger) {
    this.init = init;
    this.thread = thread;
    this.identity = identity;
    this.logger = logger;
  }

  /** Starts the worker and waits until its backend and model are loaded (typed errors from start-up are rethrown). */
  static async open(init: WorkerInit, opts: WorkerScorerOptions = {}): Promise<WorkerScorer> {
    const logger = (opts.logger ?? rootLog).child({ component: 'scorer-worker' });
    // The exit handler needs the scorer, which needs the started thread: bind it once both exist.
    const holder: { self?: WorkerScorer } = {};
    const thread = new ScorerThread(init, (t, err) => holder.self?.onThreadExit(t, err));
    const identity = await thread.ready.catch(async (err: unknown) => {
      await thread.stop();
      throw err instanceof PrismError
        ? err
        : new WorkerScorerError('WORKER_START_FAILED', `scorer worker did not start: ${String(err)}`);
    });
    const self = new WorkerScorer(init, thread, identity, logger);
    holder.self = self;
    logger.info({ ...identity }, 'scorer runs in a worker thread');
    return self;
  }

  get probeModelId(): string {
    return this.identity.probeModelId;
  }

  get probeModelVersion(): string {
    return this.identity.probeModelVersion;
  }

  get backend(): string {
    return this.identity.backend;
  }

  get adapter(): string | undefined {
    return this.identity.adapter;
  }

  get maxSeqLen(): number {
    return this.identity.maxSeqLen;
  }

  /** The path the worker's scorer used for the last batch (undefined before the first, or while `auto` calibrates). */
  get path(): string | undefined {
    return this.thread.path;
  }

  /** tf.memory().numTensors in the worker after its last request. */
  liveTensors(): number {
    return this.thread.liveTensors;
  }

  private onThreadExit(thread: ScorerThread, err: Error): void {
    if (this.disposed || thread !== this.thread || !thread.started) return;
    this.logger.error(
      { err: err.message },
      'scorer worker died; a fresh one starts with the next micro-batch',
    );
    this.thread = new ScorerThread(this.init, (t, e) => this.onThreadExit(t, e));
    this.restarts++;
  }

  /** Runs `work` after every request queued before it (micro-batches and adoptions, in call order). */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if (this.disposed) return Promise.reject(new WorkerScorerError('WORKER_DISPOSED', 'scorer was disposed'));
    return this.enqueue(async () => {
      if (this.adoptFailure) throw this.adoptFailure;
      const thread = this.thread;
      await thread.ready;
      return thread.score(trajectories);
    });
  }

  /**
   * probe.mode follow: loads a (verified) checkpoint folder into the worker in the background, next
   * to the serving model. Rejects with the worker's typed error (unreadable, other architecture).
   */
  async preload(dir: string): Promise<WorkerModel> {
    if (this.disposed) throw new WorkerScorerError('WORKER_DISPOSED', 'scorer was disposed');
    const thread = this.thread;
    await thread.ready;
    const { id, reply } = thread.request({ type: 'load', dir });
    await reply;
    return { dir, thread, handle: id };
  }

  /** Frees a preloaded checkpoint that will not be adopted. */
  release(model: WorkerModel): void {
    if (model.thread === this.thread) model.thread.unload(model.handle);
  }

  /**
   * Serves `model` from the next micro-batch on, labelled `identity` (synchronously: the caller reads
   * the identity for the next batch right after). A worker that restarts later loads its folder again.
   */
  adopt(model: WorkerModel, identity: WireIdentity): void {
    const { dir } = model;
    this.identity = { ...this.identity, ...identity };
    const { preset: _preset, ...init } = this.init;
    this.init = { ...init, config: { ...init.config, modelDir: dir, ...identity } };
    void this.enqueue(async () => {
      const thread = this.thread;
      await thread.ready;
      const handle = model.thread === thread ? model.handle : -1;
      await thread.request({ type: 'adopt', model: handle, dir, identity }).reply;
    }).catch((err: unknown) => {
      // A crashed worker restarts on the adopted folder (init above); anything else is fatal for scoring.
      if (err instanceof WorkerScorerError && err.code === 'WORKER_CRASHED') return;
      this.adoptFailure = new WorkerScorerError(
        'WORKER_ADOPT_FAILED',
        `the scorer worker could not serve checkpoint ${identity.probeModelVersion} (${dir}): ${errorMessage(err)}; restart prism run`,
        { cause: err },
      );
      this.logger.error({ err: this.adoptFailure.message }, 'probe model swap failed in the scorer worker');
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.thread.stop();
  }
}

export type { WireError };
