/**
 * The scorer worker: loads the backend and the probe model once, then scores micro-batches sent by
 * WorkerScorer (worker-scorer.ts) one at a time. tfjs ops run synchronously on this thread, so the
 * main thread's event loop (heartbeats, commits, /metrics, /readyz) never waits behind a matmul.
 * In probe.mode follow it also loads checkpoint folders (`load`) and swaps the serving model
 * (`adopt`) between micro-batches: weights never leave this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { scorerSection } from '../../config/scorer.ts';
import { log } from '../../log.ts';
import type { LlamaModel } from '../../model/index.ts';
import { loadModel } from '../../model-store/llama.ts';
import type { PrismScorer } from '../../scorer/prism-scorer.ts';
import { CheckpointError, TrainerReason } from '../../trainer/errors.ts';
import {
  buildPrismScorer,
  openPrismScorer,
  type OpenedPrismScorer,
  type PrismScorerSettings,
} from '../open.ts';
import { toWireError, toWireOutcome, type FromWorker, type ToWorker, type WorkerInit } from './protocol.ts';

if (parentPort === null) throw new Error('src/scorer-host/worker/entry.ts must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);
const live = (): number => tf.memory().numTensors;

/** A followed checkpoint must have the serving probe's architecture, or its scores are not comparable. */
function requireSameArchitecture(c: LlamaModel['config'], serving: LlamaModel['config']): void {
  const same =
    c.vocab_size === serving.vocab_size &&
    c.num_hidden_layers === serving.num_hidden_layers &&
    c.hidden_size === serving.hidden_size &&
    c.model_type === serving.model_type;
  if (!same) {
    throw new CheckpointError(
      TrainerReason.CHECKPOINT_LOAD_FAILED,
      `checkpoint architecture (${c.model_type}, ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, vocab ${c.vocab_size}) differs from the serving probe's; scores would not be comparable`,
    );
  }
}

/** The serving scorer plus the checkpoints loaded for probe.mode follow and not adopted yet. */
class WorkerState {
  private readonly loaded = new Map<number, LlamaModel>();

  constructor(
    private scorer: PrismScorer,
    private readonly opened: OpenedPrismScorer,
    private readonly settings: PrismScorerSettings,
  ) {}

  async score(id: number, trajectories: Extract<ToWorker, { type: 'score' }>['trajectories']): Promise<void> {
    const outcomes = await this.scorer.scoreBatch(trajectories);
    post({
      type: 'scored',
      id,
      outcomes: outcomes.map(toWireOutcome),
      liveTensors: live(),
      path: this.scorer.path,
    });
  }

  private async loadChecked(dir: string): Promise<LlamaModel> {
    const model = await loadModel(dir);
    try {
      requireSameArchitecture(model.config, this.opened.probe.model.config);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  async load(id: number, dir: string): Promise<void> {
    this.loaded.set(id, await this.loadChecked(dir));
    post({ type: 'done', id, liveTensors: live() });
  }

  unload(id: number): void {
    this.loaded.get(id)?.dispose();
    this.loaded.delete(id);
  }

  /** Serves a loaded checkpoint (or the folder again, when this worker restarted since it was loaded). */
  async adopt(m: Extract<ToWorker, { type: 'adopt' }>): Promise<void> {
    const model = this.loaded.get(m.model) ?? (await this.loadChecked(m.dir));
    this.loaded.delete(m.model);
    const next = buildPrismScorer(
      { model, tokenizer: this.opened.probe.tokenizer, identity: m.identity },
      this.settings,
    );
    this.scorer.dispose();
    this.scorer = next;
    post({ type: 'done', id: m.id, liveTensors: live() });
  }

  dispose(): void {
    for (const id of [...this.loaded.keys()]) this.unload(id);
    this.scorer.dispose();
  }
}

function handle(state: WorkerState, m: ToWorker): void {
  if (m.type === 'dispose') {
    state.dispose();
    port.close();
    return;
  }
  if (m.type === 'unload') return state.unload(m.id);
  if (
    m.type === 'score' &&
    init.crashOnId !== undefined &&
    m.trajectories.some((t) => t.id === init.crashOnId)
  )
    process.exit(70);
  const work =
    m.type === 'score'
      ? state.score(m.id, m.trajectories)
      : m.type === 'load'
        ? state.load(m.id, m.dir)
        : state.adopt(m);
  work.catch((err: unknown) =>
    post({ type: 'failed', id: m.id, error: toWireError(err), liveTensors: live() }),
  );
}

async function main(): Promise<void> {
  const logger = log.child({ thread: 'scorer-worker' });
  let opened: OpenedPrismScorer;
  try {
    opened = await openPrismScorer(init.config, { preset: init.preset, maxTokens: init.maxTokens, logger });
  } catch (err) {
    post({ type: 'init-failed', error: toWireError(err) });
    return;
  }
  const { scorer, backend } = opened;
  const settings = {
    cfg: scorerSection.parse(init.config),
    backend: backend.kind,
    maxTokens: init.maxTokens,
    logger,
  };
  const state = new WorkerState(scorer, opened, settings);
  port.on('message', (m: ToWorker) => handle(state, m));
  post({
    type: 'ready',
    probeModelId: scorer.probeModelId,
    probeModelVersion: scorer.probeModelVersion,
    backend: scorer.backend,
    adapter: scorer.adapter,
    maxSeqLen: scorer.maxSeqLen,
  });
}

void main();
