import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import type { LlamaModel } from '../../src/model/llama.ts';
import { loadModel } from '../../src/model-store/llama.ts';
import { DLQ_HEADERS } from '../../src/schemas/dead-letter.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { batchTensors, buildSequence, packBatch, perExampleLoss } from '../../src/sequence/index.ts';
import { readIdLog } from '../../src/trainer/id-log.ts';
import { startTrainer } from '../../src/trainer/run.ts';
import { countingTrajectory, scored, TINY_VOCAB } from '../unit/trainer-fixtures.ts';
import {
  produceScored,
  readRaw,
  tempDir,
  testTrainerConfig,
  tinyModelDir,
  uniqueTopics,
  waitFor,
} from './train-helpers.ts';

const log = createLogger('train-rl-test', process.env.PRISM_LOG_LEVEL ?? 'warn');
const tmp = tempDir('train-rl-');

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.remove());

/** A wrong answer for task s: a fixed scramble, never "previous + 1". */
function wrong(id: string, start: number, reward: number | null): Trajectory {
  const t = countingTrajectory(id, start, { reward });
  t.turns[1].token_ids = [7, 30, 11, 25, 9, 40].map((x) => 4 + ((x + start * 3) % 40));
  return t;
}

/** Mean log-probability per target token of each trajectory under a model. */
function meanLogp(model: LlamaModel, ts: Trajectory[]): number[] {
  const seqs = ts.map((t) =>
    buildSequence(t.turns, { tokenizer: null, vocabSize: TINY_VOCAB, maxSeqLen: 32 }),
  );
  const t = batchTensors(packBatch(seqs, 32));
  const out = tf.tidy(() =>
    Array.from(
      perExampleLoss(model.forward(t.inputIds).logits, t.targetIds, t.targetMask).dataSync(),
      (l) => -l,
    ),
  );
  for (const x of Object.values(t)) x.dispose();
  return out;
}

describe('prism train rl on the real broker', () => {
  it('raises log π of positive-advantage trajectories relative to negative ones; no-reward records go to the DLQ', async ({
    annotate,
  }) => {
    const topics = uniqueTopics();
    const idLog = join(tmp.path, 'rl-ids.jsonl');
    const initDir = await tinyModelDir(tmp.path, 11);
    const config = testTrainerConfig({
      topics,
      checkpointRoot: join(tmp.path, 'ckpt'),
      rl: {
        modelId: 'rl-it',
        initModelDir: initDir,
        idLog,
        optimizer: { lr: 2e-2, warmupSteps: 0 },
        checkpoint: { everySteps: 4, everySeconds: 3600 },
        advantage: { groupSize: 4, windowMs: 2000 },
      },
    });
    const probe = [0, 1, 2, 3, 4, 5].flatMap((s) => [
      countingTrajectory(`probe-good-${s}`, s),
      wrong(`probe-bad-${s}`, s, 0),
    ]);
    const initial = await loadModel(initDir);
    const before = meanLogp(initial, probe);
    initial.dispose();

    const handle = await startTrainer('rl', config, { log, backend: 'keep' });
    try {
      const records = [];
      for (let round = 0; round < 5; round++) {
        for (let s = 0; s < 6; s++) {
          // One GRPO group per task and round: two right answers (reward 1), two wrong (reward 0).
          const good = [0, 1].map((k) => countingTrajectory(`r${round}-t${s}-good${k}`, s, { reward: 1 }));
          // Half the wrong ones carry behaviour logprobs: the PPO-clip path.
          const bad = [0, 1].map((k) => wrong(`r${round}-t${s}-bad${k}`, s, 0));
          bad[0].turns[1].logprobs = Array.from({ length: 6 }, () => -3.5);
          for (const t of [...good, ...bad]) t.task_id = `task-${s}-round-${round}`;
          records.push(...[...good, ...bad].map((t) => scored(t, 'RL')));
        }
      }
      const noReward = scored(countingTrajectory('no-reward', 3, { reward: null }), 'RL');
      await produceScored(topics.rl, [...records, noReward, Buffer.from('not avro at all')]);
      await waitFor('all 120 rewarded records trained', () => readIdLog(idLog).entries.length === 120);
      const dlq = await readRaw(topics.dlq);
      expect(dlq.map((d) => d.headers[DLQ_HEADERS.code]).sort()).toEqual(
        ['DECODE_INVALID_JSON', 'MISSING_REWARD'].sort(),
      );
      const metrics = await (await fetch(`http://127.0.0.1:${handle.metricsPort}/metrics`)).text();
      for (const name of [
        'prism_trainer_reward_mean',
        'prism_trainer_advantage_std',
        'prism_trainer_clip_fraction',
      ])
        expect(metrics).toContain(name);
      expect(metrics).toMatch(/prism_trainer_dead_letters_total\{reason="MISSING_REWARD",trainer="rl"\} 1/);
      await handle.stop();

      const ckpt = handle.loop.latestCheckpoint;
      if (!ckpt) throw new Error('no checkpoint');
      const trained = await loadModel(ckpt.path);
      const after = meanLogp(trained, probe);
      trained.dispose();
      const margin = (v: number[]): number => {
        let m = 0;
        for (let i = 0; i < v.length; i += 2) m += v[i] - v[i + 1];
        return m / (v.length / 2);
      };
      await annotate(
        `mean log π(good) − log π(bad) per token: ${margin(before).toFixed(3)} before → ${margin(after).toFixed(3)} after ${handle.loop.step} steps`,
      );
      expect(margin(after)).toBeGreaterThan(margin(before) + 0.5);
    } finally {
      await handle.stop();
    }
  });
});
