/**
 * WorkerScorer: the PRISM scorer behind the same `Scorer` interface, run in a worker thread that
 * holds the backend and the probe model (entry.ts). Only trajectories go in and score vectors come
 * out (protocol.ts); the main thread never runs a tfjs op, so its event loop stays free.
 *
 * Failure model:
 * - a bad record: a typed `{ ok: false }` outcome, rebuilt with the worker's code and name;
 * - the scorer in the worker throws (e.g. BACKEND_FAILED): scoreBatch rejects with that typed error;
 * - the worker dies (crash, out of memory, exit): the micro-batch in flight rejects with
 *   `WORKER_CRASHED` (its transaction aborts upstream) and the next call starts a fresh worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PrismError } from '../../errors.ts';
import { log as rootLog, type Logger } from '../../log.ts';
import type { Trajectory } from '../../schemas/types.ts';
import type { ScoreOutcome, Scorer } from '../types.ts';
import {
  WorkerReportedError,
  fromWireOutcome,
  type FromWorker,
  type ToWorker,
  type WireError,
  type WorkerInit,
} from './protocol.ts';

export type WorkerScorerErrorCode = 'WORKER_CRASHED' | 'WORKER_START_FAILED' | 'WORKER_DISPOSED';

export class WorkerScorerError extends PrismError {
  declare readonly code: WorkerScorerErrorCode;

  constructor(code: WorkerScorerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

interface Identity {
  probeModelId: string;
  probeModelVersion: string;
  backend: string;
  maxSeqLen: number;
}

interface Pending {
  resolve: (o: ScoreOutcome[]) => void;
  reject: (e: Error) => void;
}

/** The entry to run: compiled JS next to this file (dist), else the tsx bootstrap for the .ts sources. */
function workerEntry(): { script: URL; entry: string } {
  const js = new URL('./entry.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, entry: js.href };
  return {
    script: new URL('./bootstrap.mjs', import.meta.url),
    entry: new URL('./entry.ts', import.meta.url).href,
  };
}

/** One live worker: started, ready (identity known), scoring one batch at a time. */
class ScorerThread {
  readonly ready: Promise<Identity>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: Error | undefined;
  /** It loaded its model once (a worker that never started is not restarted in a loop). */
  started = false;
  liveTensors = 0;

  constructor(init: WorkerInit, onExit: (thread: ScorerThread, err: Error) => void) {
    const { script, entry } = workerEntry();
    this.worker = new Worker(script, { workerData: { ...init, entry } });
    this.ready = new Promise<Identity>((resolve, reject) => {
      this.worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          this.started = true;
          resolve(m);
        } else if (m.type === 'init-failed') reject(new WorkerReportedError(m.error));
        else this.settle(m);
      });
      const died = (err: Error): void => {
        if (this.exited) return;
        this.exited = err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        onExit(this, err);
      };
      this.worker.on('error', (err) =>
        died(new WorkerScorerError('WORKER_CRASHED', `scorer worker failed: ${err.message}`, { cause: err })),
      );
      this.worker.on('exit', (code) =>
        died(new WorkerScorerError('WORKER_CRASHED', `scorer worker exited with code ${code}`)),
      );
    });
    // Callers observe failures through scoreBatch; keep an unobserved rejection from crashing the process.
    this.ready.catch(() => undefined);
  }

  private settle(m: Extract<FromWorker, { type: 'scored' | 'score-failed' }>): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    this.liveTensors = m.liveTensors;
    if (m.type === 'scored') p.resolve(m.outcomes.map(fromWireOutcome));
    else p.reject(new WorkerReportedError(m.error));
  }

  score(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<ScoreOutcome[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'score', id, trajectories } satisfies ToWorker);
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.worker.postMessage({ type: 'dispose' } satisfies ToWorker);
    await this.worker.terminate();
  }
}

export interface WorkerScorerOptions {
  readonly logger?: Logger;
}

export class WorkerScorer implements Scorer {
  private thread: ScorerThread;
  private identity: Identity;
  private readonly init: WorkerInit;
  private readonly logger: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
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

  get maxSeqLen(): number {
    return this.identity.maxSeqLen;
  }

  /** tf.memory().numTensors in the worker after its last batch. */
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

  scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if (this.disposed) return Promise.reject(new WorkerScorerError('WORKER_DISPOSED', 'scorer was disposed'));
    // One micro-batch at a time in the worker, in call order.
    const run = this.queue.then(async () => {
      const thread = this.thread;
      this.identity = await thread.ready;
      return thread.score(trajectories);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.thread.stop();
  }
}

export type { WireError };
