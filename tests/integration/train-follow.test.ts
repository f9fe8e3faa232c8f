import * as tf from '@tensorflow/tfjs';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import type { LlamaModel } from '../../src/model/llama.ts';
import { loadModel } from '../../src/model-store/llama.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { batchTensors, buildSequence, packBatch, perExampleLoss } from '../../src/sequence/index.ts';
import { startProbeFollow, type FollowEvent } from '../../src/trainer/model-updates/index.ts';
import { startTrainer } from '../../src/trainer/run.ts';
import { countingTrajectory, scored, TINY_VOCAB } from '../unit/trainer-fixtures.ts';
import { testKafka } from './helpers/kafka.ts';
import {
  produceScored,
  tempDir,
  testTrainerConfig,
  tinyModelDir,
  uniqueTopics,
  updateCodec,
  waitFor,
} from './train-helpers.ts';

const log = createLogger('train-follow-test', process.env.PRISM_LOG_LEVEL ?? 'warn');
const tmp = tempDir('train-follow-');
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.remove());

const batch = [0, 1, 2, 3].map((s) =>
  buildSequence(countingTrajectory(`b${s}`, s).turns, {
    tokenizer: null,
    vocabSize: TINY_VOCAB,
    maxSeqLen: 32,
  }),
);
function score(model: LlamaModel): number {
  const t = batchTensors(packBatch(batch, 32));
  const loss = tf.tidy(
    () => perExampleLoss(model.forward(t.inputIds).logits, t.targetIds, t.targetMask).mean().dataSync()[0],
  );
  for (const x of Object.values(t)) x.dispose();
  return loss;
}

/** What the arbitrator does in probe.mode follow: swap only between micro-batches. */
class FakeArbitrator {
  readonly batches: { index: number; version: string; loss: number }[] = [];
  loadedDuring: Map<string, number> = new Map();
  private running = true;
  private index = 0;
  private loop: Promise<void>;
  constructor(
    private model: LlamaModel,
    private version: string,
    private readonly follow: Awaited<ReturnType<typeof startProbeFollow>>,
  ) {
    this.loop = this.run();
  }
  onEvent(e: FollowEvent): void {
    if (e.kind === 'loaded') this.loadedDuring.set(e.update.version, this.index);
  }
  private async run(): Promise<void> {
    while (this.running) {
      const swap = this.follow.follower.takeSwap();
      if (swap) {
        this.model.dispose();
        this.model = swap.model;
        this.version = swap.update.version; // a new arbitration window would open here
      }
      this.index += 1;
      this.batches.push({ index: this.index, version: this.version, loss: score(this.model) });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  get serving(): { version: string; model: LlamaModel } {
    return { version: this.version, model: this.model };
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

describe('probe follow mode against a live SFT trainer', () => {
  it('scores with the new version from the next micro-batch, and refuses a corrupted checkpoint', async () => {
    const topics = uniqueTopics();
    const initDir = await tinyModelDir(tmp.path);
    const config = testTrainerConfig({
      topics,
      checkpointRoot: join(tmp.path, 'ckpt'),
      sft: {
        modelId: 'follow-sft',
        initModelDir: initDir,
        optimizer: { lr: 3e-2, warmupSteps: 0 },
        checkpoint: { everySteps: 2, everySeconds: 3600 },
      },
    });
    const trainer = await startTrainer('sft', config, { log, backend: 'keep' });
    const events: FollowEvent[] = [];
    const holder: { arb?: FakeArbitrator } = {};
    const follow = await startProbeFollow({
      kafka: testKafka('follow-test'),
      registry: openLocalRegistry(),
      topic: topics.modelUpdates,
      modelId: 'follow-sft',
      serving: await loadModel(initDir),
      current: { version: 'base', step: -1 },
      log,
      onEvent: (e) => {
        events.push(e);
        holder.arb?.onEvent(e);
      },
    });
    await follow.watcher.caughtUp;
    const arb = new FakeArbitrator(await loadModel(initDir), 'base', follow);
    holder.arb = arb;
    try {
      await produceScored(
        topics.sft,
        Array.from({ length: 48 }, (_, i) => scored(countingTrajectory(`f-${i}`, i % 8))),
      );
      await waitFor('a trainer checkpoint', () => trainer.loop.latestCheckpoint !== undefined);
      await trainer.stop(); // final checkpoint + ModelUpdate
      const final = trainer.loop.latestCheckpoint;
      if (!final) throw new Error('no checkpoint');
      await waitFor(
        'the arbitrator serving the final version',
        () => arb.serving.version === final.manifest.version,
        60_000,
      );

      expect(arb.loadedDuring.has(final.manifest.version)).toBe(true);
      // Each version took over exactly at the micro-batch after the one during which it finished loading.
      for (const [version, loadedAt] of arb.loadedDuring) {
        const first = arb.batches.find((b) => b.version === version);
        if (first) expect(first.index).toBe(loadedAt + 1);
      }
      // And it really serves the checkpoint's weights.
      const direct = await loadModel(final.path);
      expect(arb.batches.at(-1)?.loss ?? Number.NaN).toBeCloseTo(score(direct), 5);
      direct.dispose();

      // A corrupted copy announced as a newer version is refused; the current version keeps serving.
      const bad = join(tmp.path, 'corrupted');
      cpSync(final.path, bad, { recursive: true });
      const weights = join(bad, 'model.safetensors');
      const bytes = readFileSync(weights);
      bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(weights, bytes);
      const producer = testKafka('follow-test-producer').producer();
      await producer.connect();
      await producer.send({
        topic: topics.modelUpdates,
        messages: [
          {
            key: 'follow-sft',
            value: await updateCodec().encode({
              model_id: 'follow-sft',
              version: 'forged-999',
              step: 999,
              uri: `file://${bad}`,
              sha256: final.manifest.sha256,
              created_at: Date.now(),
              trainer: 'sft',
              metrics: {},
            }),
          },
        ],
      });
      await producer.disconnect();
      await waitFor('the corrupted update refused', () => events.some((e) => e.kind === 'rejected'), 30_000);
      const rejected = events.find((e) => e.kind === 'rejected');
      expect(rejected?.kind === 'rejected' && rejected.error.code).toBe('CHECKPOINT_SHA_MISMATCH');
      expect(rejected?.kind === 'rejected' && rejected.error.message).toContain('refusing to load it');
      const n = arb.batches.length;
      await waitFor('two more micro-batches', () => arb.batches.length >= n + 2);
      expect(arb.batches.slice(n).every((b) => b.version === final.manifest.version)).toBe(true);
      expect(follow.follower.current.version).toBe(final.manifest.version);
    } finally {
      await arb.stop();
      arb.serving.model.dispose();
      await follow.stop();
      await trainer.stop();
    }
  });
});
