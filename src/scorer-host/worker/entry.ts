/**
 * The scorer worker: loads the backend and the probe model once, then scores micro-batches sent by
 * WorkerScorer (worker-scorer.ts) one at a time. tfjs ops run synchronously on this thread, so the
 * main thread's event loop (heartbeats, commits, /metrics, /readyz) never waits behind a matmul.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { log } from '../../log.ts';
import { openPrismScorer } from '../open.ts';
import type { PrismScorer } from '../prism-scorer.ts';
import { toWireError, toWireOutcome, type FromWorker, type ToWorker, type WorkerInit } from './protocol.ts';

if (parentPort === null) throw new Error('src/scorer/worker/entry.ts must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);

async function main(): Promise<void> {
  let scorer: PrismScorer;
  try {
    ({ scorer } = await openPrismScorer(init.config, {
      preset: init.preset,
      maxTokens: init.maxTokens,
      logger: log.child({ thread: 'scorer-worker' }),
    }));
  } catch (err) {
    post({ type: 'init-failed', error: toWireError(err) });
    return;
  }
  port.on('message', (m: ToWorker) => {
    if (m.type === 'dispose') {
      scorer.dispose();
      port.close();
      return;
    }
    if (init.crashOnId !== undefined && m.trajectories.some((t) => t.id === init.crashOnId)) process.exit(70);
    scorer.scoreBatch(m.trajectories).then(
      (outcomes) =>
        post({
          type: 'scored',
          id: m.id,
          outcomes: outcomes.map(toWireOutcome),
          liveTensors: tf.memory().numTensors,
        }),
      (err: unknown) =>
        post({
          type: 'score-failed',
          id: m.id,
          error: toWireError(err),
          liveTensors: tf.memory().numTensors,
        }),
    );
  });
  post({
    type: 'ready',
    probeModelId: scorer.probeModelId,
    probeModelVersion: scorer.probeModelVersion,
    backend: scorer.backend,
    maxSeqLen: scorer.maxSeqLen,
  });
}

void main();
