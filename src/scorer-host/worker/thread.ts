/**
 * One live scorer worker thread (entry.ts): started, ready (identity known), answering requests by id.
 * WorkerScorer (worker-scorer.ts) owns it, orders its requests and starts a fresh one after a crash.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PrismError } from '../../errors.ts';
import type { Trajectory } from '../../schemas/types.ts';
import type { ScoreOutcome } from '../../scorer/types.ts';
import {
  WorkerReportedError,
  fromWireOutcome,
  type FromWorker,
  type ToWorker,
  type WireIdentity,
  type WorkerInit,
} from './protocol.ts';

export type WorkerScorerErrorCode =
  'WORKER_CRASHED' | 'WORKER_START_FAILED' | 'WORKER_DISPOSED' | 'WORKER_ADOPT_FAILED';

export class WorkerScorerError extends PrismError {
  declare readonly code: WorkerScorerErrorCode;

  constructor(code: WorkerScorerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface Identity extends WireIdentity {
  backend: string;
  adapter?: string;
  maxSeqLen: number;
}

type Reply = Extract<FromWorker, { type: 'scored' | 'done' }>;

interface Pending {
  resolve: (m: Reply) => void;
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

/** A request as sent: the id is added by the thread. */
type Request =
  | { type: 'score'; trajectories: readonly Trajectory[] }
  | { type: 'load'; dir: string }
  | { type: 'adopt'; model: number; dir: string; identity: WireIdentity };

export class ScorerThread {
  readonly ready: Promise<Identity>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: Error | undefined;
  /** It loaded its model once (a worker that never started is not restarted in a loop). */
  started = false;
  liveTensors = 0;
  /** The path the worker's scorer used for its last batch (undefined while `auto` calibrates). */
  path: string | undefined;

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
    // Callers observe failures through their requests; keep an unobserved rejection from crashing the process.
    this.ready.catch(() => undefined);
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  private settle(m: Exclude<FromWorker, { type: 'ready' | 'init-failed' }>): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    this.liveTensors = m.liveTensors;
    if (m.type === 'failed') p.reject(new WorkerReportedError(m.error));
    else p.resolve(m);
  }

  /** Sends a request; the returned id is the one its reply carries (for `load`: the loaded model's handle). */
  request(r: Request): { id: number; reply: Promise<Reply> } {
    const id = this.nextId++;
    if (this.exited) return { id, reply: Promise.reject(this.exited) };
    const reply = new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...r, id } satisfies ToWorker);
    });
    return { id, reply };
  }

  async score(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    const m = await this.request({ type: 'score', trajectories }).reply;
    if (m.type !== 'scored')
      throw new PrismError('SCORER_CONTRACT', `scorer worker answered ${m.type} to score`);
    this.path = m.path;
    return m.outcomes.map(fromWireOutcome);
  }

  /** Frees a model loaded by `load` and never adopted (nothing to do once this thread is gone). */
  unload(id: number): void {
    if (!this.exited) this.worker.postMessage({ type: 'unload', id } satisfies ToWorker);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.worker.postMessage({ type: 'dispose' } satisfies ToWorker);
    await this.worker.terminate();
  }
}
