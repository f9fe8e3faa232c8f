import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { readManifest } from '../../src/trainer/checkpoint/store.ts';
import { readIdLog } from '../../src/trainer/id-log.ts';
import { startTrainer } from '../../src/trainer/run.ts';
import { countingTrajectory, scored } from '../unit/trainer-fixtures.ts';
import {
  committedOffsets,
  produceScored,
  readRaw,
  tempDir,
  testTrainerConfig,
  tinyModelDir,
  uniqueTopics,
  updateCodec,
  waitFor,
} from './train-helpers.ts';

const log = createLogger('train-sft-test', process.env.PRISM_LOG_LEVEL ?? 'warn');
const tmp = tempDir('train-sft-');

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.remove());

describe('prism train sft on the real broker', () => {
  it('lowers the loss on a learnable set, checkpoints, commits only checkpointed offsets and publishes ModelUpdates', async ({
    annotate,
  }) => {
    const topics = uniqueTopics();
    const idLog = join(tmp.path, 'sft-ids.jsonl');
    const config = testTrainerConfig({
      topics,
      checkpointRoot: join(tmp.path, 'ckpt'),
      sft: {
        modelId: 'sft-it',
        initModelDir: await tinyModelDir(tmp.path),
        idLog,
        optimizer: { lr: 3e-2, warmupSteps: 0 },
        checkpoint: { everySteps: 5, everySeconds: 3600 },
      },
    });
    const handle = await startTrainer('sft', config, { log, backend: 'keep' });
    const losses: number[] = [];
    handle.loop.onStep((s) => losses.push(s.loss));
    try {
      // 8 tasks × 10 rounds, all learnable by "next token = previous + 1".
      const records = Array.from({ length: 80 }, (_, i) => scored(countingTrajectory(`sft-${i}`, i % 8)));
      await produceScored(topics.sft, records);
      await waitFor('all 80 records trained', () => readIdLog(idLog).entries.length === 80);
      const metrics = await (await fetch(`http://127.0.0.1:${handle.metricsPort}/metrics`)).text();
      for (const name of [
        'prism_trainer_loss',
        'prism_trainer_steps_total',
        'prism_trainer_tokens_per_second',
        'prism_trainer_checkpoint_age_seconds',
        'prism_trainer_lag_records',
      ]) {
        expect(metrics).toContain(name);
      }
      // A graceful stop checkpoints the steps since the last checkpoint, then commits.
      await handle.stop();
      expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
      await annotate(
        `SFT loss ${losses[0].toFixed(3)} (step 1) → ${losses[losses.length - 1].toFixed(3)} (step ${losses.length})`,
      );

      const ckpt = handle.loop.latestCheckpoint;
      if (!ckpt) throw new Error('no checkpoint');
      expect(ckpt.manifest.step).toBe(handle.loop.step);
      const manifest = await readManifest(ckpt.path);
      const trainedPerPartition = new Map<number, number>();
      for (const e of readIdLog(idLog).entries)
        trainedPerPartition.set(e.partition, (trainedPerPartition.get(e.partition) ?? 0) + 1);
      // Every record trained; the manifest's offsets are exactly past them, and the group committed those.
      for (const p of manifest.offsets) {
        expect(p.offset).toBe(String(trainedPerPartition.get(p.partition) ?? 0));
        expect(p.doneAbove).toEqual([]);
      }
      const committed = await committedOffsets(config.trainer.sft.groupId, topics.sft);
      for (const p of manifest.offsets) expect(committed.get(p.partition)).toBe(p.offset);

      const updates = await readRaw(topics.modelUpdates);
      const codec = updateCodec();
      const decoded = await Promise.all(updates.map((u) => codec.decode(u.value)));
      expect(updates.every((u) => u.key === 'sft-it')).toBe(true);
      expect(decoded.at(-1)).toMatchObject({
        model_id: 'sft-it',
        version: manifest.version,
        sha256: manifest.sha256,
        trainer: 'sft',
      });
    } finally {
      await handle.stop();
    }
  });
});
