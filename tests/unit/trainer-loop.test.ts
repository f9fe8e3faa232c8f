import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rlTrainerSection, sftTrainerSection } from '../../src/config/trainer.ts';
import { createLogger } from '../../src/log.ts';
import { saveModel } from '../../src/model-store/llama.ts';
import type { ModelUpdate } from '../../src/schemas/types.ts';
import { bootstrap, type Booted } from '../../src/trainer/bootstrap.ts';
import { writeOptimizerState } from '../../src/trainer/checkpoint/optimizer-state.ts';
import { readManifest, verifyCheckpoint } from '../../src/trainer/checkpoint/store.ts';
import { RlEngine } from '../../src/trainer/engines/rl.ts';
import { SftEngine } from '../../src/trainer/engines/sft.ts';
import { IdLog, readIdLog } from '../../src/trainer/id-log.ts';
import { TrainerLoop } from '../../src/trainer/loop.ts';
import type { PartitionOffsets } from '../../src/trainer/offsets.ts';
import type { InputRecord, Rejected, StepEngine, TrainerKind, TrainerSink } from '../../src/trainer/types.ts';
import { countingTrajectory, inputRecord, scored, tinyModel, TINY_VOCAB } from './trainer-fixtures.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const log = createLogger('test', 'silent');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'trainer-loop-'));
  dirs.push(d);
  return d;
}

class MemorySink implements TrainerSink {
  dlq: Rejected[] = [];
  commits: PartitionOffsets[][] = [];
  updates: ModelUpdate[] = [];
  async deadLetter(r: readonly Rejected[]): Promise<void> {
    this.dlq.push(...r);
  }
  async commit(o: readonly PartitionOffsets[]): Promise<void> {
    this.commits.push([...o]);
  }
  async publish(u: ModelUpdate): Promise<void> {
    this.updates.push(u);
  }
}

async function modelDir(): Promise<string> {
  const dir = join(tmp(), 'init');
  const m = tinyModel(5);
  await saveModel(m, dir);
  m.dispose();
  return dir;
}

function makeLoop(
  kind: TrainerKind,
  booted: Booted,
  sink: TrainerSink,
  idLogPath: string | undefined,
  everySteps = 3,
  over: Partial<{ microBatchSize: number; gradAccumulation: number }> = {},
) {
  const seq = { tokenizer: null, vocabSize: TINY_VOCAB, maxSeqLen: 32 };
  const engine: StepEngine<unknown> = (
    kind === 'sft'
      ? new SftEngine(booted.model, seq)
      : new RlEngine(booted.model, seq, { clipLow: 0.2, clipHigh: 0.2, klCoef: 0, aggregation: 'token-mean' })
  ) as StepEngine<unknown>;
  const idLog = idLogPath ? new IdLog(idLogPath) : undefined;
  idLog?.start(booted.start.step, booted.start.version);
  return new TrainerLoop<unknown>(
    {
      trainer: kind,
      modelId: booted.store.modelId,
      consumerGroup: 'g',
      microBatchSize: over.microBatchSize ?? 4,
      maxBatchWaitMs: 60_000,
      gradAccumulation: over.gradAccumulation ?? 2,
      maxGradNorm: 1,
      schedule: { lr: 3e-2, warmupSteps: 0, decay: 'constant', decaySteps: 0, minLrRatio: 0 },
      checkpointEverySteps: everySteps,
      checkpointEverySeconds: 3600,
      keepCheckpoints: 2,
      advantage: {
        groupSize: 2,
        minGroupSize: 2,
        windowMs: 60_000,
        maxPending: 100,
        scaleByStd: true,
        eps: 1e-6,
        baselineAlpha: 0.1,
      },
    },
    {
      engine,
      params: booted.model.namedWeights(),
      optimizer: booted.optimizer,
      store: booted.store,
      writeWeights: (dir) => saveModel(booted.model, dir),
      writeOptimizer: (dir) => writeOptimizerState(booted.optimizer, dir),
      sink,
      ledger: booted.ledger,
      idLog,
      log,
    },
    booted.start,
  );
}

/** What the Kafka adapter does per fetched record: the ledger filters, the loop gets the rest. */
async function deliver(loop: TrainerLoop<unknown>, booted: Booted, records: InputRecord[]): Promise<void> {
  const fresh = records.filter((r) => booted.ledger.deliver(r.topic, r.partition, r.offset));
  await loop.offer(fresh);
  await loop.pump();
}

const corpus = (n: number): InputRecord[] =>
  Array.from({ length: n }, (_, i) => inputRecord(scored(countingTrajectory(`r${i}`, i % 8)), i));

describe('TrainerLoop (SFT)', () => {
  it('lowers the SFT loss on a learnable synthetic set', async () => {
    const root = tmp();
    const cfg = sftTrainerSection.parse({ modelId: 'sft-a', initModelDir: await modelDir() });
    const booted = await bootstrap({
      kind: 'sft',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft-a',
      inputTopic: 'in',
      log,
    });
    const loop = makeLoop('sft', booted, new MemorySink(), undefined, 1000);
    const losses: number[] = [];
    loop.onStep((s) => losses.push(s.loss));
    for (let epoch = 0; epoch < 6; epoch++) {
      // Each epoch re-sends the same 8 tasks under new offsets, as a stream would.
      await deliver(
        loop,
        booted,
        Array.from({ length: 8 }, (_, i) =>
          inputRecord(scored(countingTrajectory(`e${epoch}-${i}`, i)), epoch * 8 + i),
        ),
      );
    }
    expect(losses.length).toBe(6);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
    // No tensor leaks per step: the live tensor count is flat once optimizer moments exist.
    const live = tf.memory().numTensors;
    await deliver(
      loop,
      booted,
      Array.from({ length: 16 }, (_, i) => inputRecord(scored(countingTrajectory(`x${i}`, i)), 100 + i)),
    );
    expect(losses.length).toBe(8);
    expect(tf.memory().numTensors).toBe(live);
    booted.dispose();
  });

  it('checkpoints atomically with offsets, then commits them and publishes a ModelUpdate', async () => {
    const root = tmp();
    const cfg = sftTrainerSection.parse({ modelId: 'sft-b', initModelDir: await modelDir() });
    const booted = await bootstrap({
      kind: 'sft',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft-b',
      inputTopic: 'in',
      log,
    });
    const sink = new MemorySink();
    const loop = makeLoop('sft', booted, sink, undefined, 3);
    await deliver(loop, booted, corpus(50)); // 6 steps of 2 micro-batches of 4; 2 records stay queued
    const ref = loop.latestCheckpoint;
    expect(ref?.manifest.step).toBe(6);
    expect(ref && (await readManifest(ref.path)).offsets).toEqual([
      { topic: 'in', partition: 0, offset: '48', doneAbove: [] },
    ]);
    expect(ref && (await verifyCheckpoint(ref.path, ref.manifest.sha256))).toBe(ref?.manifest.sha256);
    expect(sink.commits.at(-1)).toEqual([{ topic: 'in', partition: 0, offset: '48', doneAbove: [] }]);
    expect(sink.updates.map((u) => u.step)).toEqual([3, 6]);
    expect(sink.updates[1]).toMatchObject({
      model_id: 'sft-b',
      trainer: 'sft',
      sha256: ref?.manifest.sha256,
      uri: pathToFileURL(ref?.path ?? '').href,
    });
    expect((await booted.store.list()).length).toBe(2);
    booted.dispose();
  });

  it('after a crash, resumes from the checkpoint so that no record is lost or trained twice in the lineage', async () => {
    const root = tmp();
    const ids = join(root, 'ids.jsonl');
    const init = await modelDir();
    const cfg = sftTrainerSection.parse({ modelId: 'sft-c', initModelDir: init });
    const records = corpus(40);
    // First life: trains 4 steps (checkpoint at 3), "crashes" with step 4 and 2 queued records unsaved.
    const a = await bootstrap({
      kind: 'sft',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft-c',
      inputTopic: 'in',
      log,
    });
    const loopA = makeLoop('sft', a, new MemorySink(), ids, 3);
    await deliver(loopA, a, records.slice(0, 34));
    expect(loopA.step).toBe(4);
    a.dispose(); // no checkpoint: as with kill -9
    // Second life: re-reads the topic from the start (the broker would start at the committed offset).
    const b = await bootstrap({
      kind: 'sft',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft-c',
      inputTopic: 'in',
      log,
    });
    expect(b.start.step).toBe(3);
    const loopB = makeLoop('sft', b, new MemorySink(), ids, 3);
    await deliver(loopB, b, records);
    await loopB.checkpoint();
    const { entries, superseded } = readIdLog(ids);
    const trained = entries.map((e) => e.id).sort();
    expect(trained).toEqual(records.map((r) => r.value.trajectory.id).sort());
    expect(new Set(trained).size).toBe(trained.length);
    expect(superseded.length).toBe(8); // step 4 of the first life
    b.dispose();
  });
});

describe('TrainerLoop (RL)', () => {
  it('dead-letters trajectories without a reward (MISSING_REWARD) and marks them done', async () => {
    const root = tmp();
    const cfg = rlTrainerSection.parse({ modelId: 'rl-a', initModelDir: await modelDir() });
    const booted = await bootstrap({
      kind: 'rl',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft',
      inputTopic: 'in',
      log,
    });
    const sink = new MemorySink();
    const loop = makeLoop('rl', booted, sink, undefined, 1);
    const recs = [
      inputRecord(scored(countingTrajectory('x', 1, { reward: null }), 'RL'), 0),
      inputRecord(scored(countingTrajectory('y', 1, { reward: 1 }), 'RL'), 1),
      inputRecord(scored(countingTrajectory('z', 1, { reward: 0 }), 'RL'), 2),
    ];
    const live = tf.memory().numTensors;
    await deliver(loop, booted, recs);
    await loop.pump(async () => undefined, { flush: true });
    expect(tf.memory().numTensors).toBe(live);
    expect(sink.dlq.map((d) => [d.record.offset, d.error.code])).toEqual([['0', 'MISSING_REWARD']]);
    expect(loop.step).toBe(1);
    expect(booted.ledger.snapshot()).toEqual([{ topic: 'in', partition: 0, offset: '3', doneAbove: [] }]);
    booted.dispose();
  });

  it('records trained while an earlier one waits for its group are checkpointed as doneAbove and skipped on resume', async () => {
    const root = tmp();
    const ids = join(root, 'ids.jsonl');
    const cfg = rlTrainerSection.parse({ modelId: 'rl-g', initModelDir: await modelDir() });
    const rec = (id: string, task: string, reward: number, offset: number) => {
      const t = countingTrajectory(id, offset, { reward });
      t.task_id = task;
      return inputRecord(scored(t, 'RL'), offset);
    };
    const first = [rec('a1', 'a', 1, 0), rec('b1', 'b', 1, 1), rec('b2', 'b', 0, 2)];
    const a = await bootstrap({
      kind: 'rl',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft',
      inputTopic: 'in',
      log,
    });
    const loopA = makeLoop('rl', a, new MemorySink(), ids, 100, { microBatchSize: 2, gradAccumulation: 1 });
    await deliver(loopA, a, first); // group b completes and trains; a1 waits for a partner
    expect(loopA.step).toBe(1);
    const ref = await loopA.checkpoint();
    expect(ref?.manifest.offsets).toEqual([
      { topic: 'in', partition: 0, offset: '0', doneAbove: ['1', '2'] },
    ]);
    a.dispose();
    const b = await bootstrap({
      kind: 'rl',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft',
      inputTopic: 'in',
      log,
    });
    const loopB = makeLoop('rl', b, new MemorySink(), ids, 100, { microBatchSize: 2, gradAccumulation: 1 });
    await deliver(loopB, b, [...first, rec('a2', 'a', 0, 3)]); // re-read from offset 0
    expect(loopB.step).toBe(2);
    expect(
      readIdLog(ids)
        .entries.map((e) => e.id)
        .sort(),
    ).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(b.ledger.snapshot()).toEqual([{ topic: 'in', partition: 0, offset: '4', doneAbove: [] }]);
    b.dispose();
  });

  it('resumes from its own checkpoint before considering initFrom latest-sft', async () => {
    const root = tmp();
    const init = await modelDir();
    const sftCfg = sftTrainerSection.parse({ modelId: 'sft-d', initModelDir: init });
    const s = await bootstrap({
      kind: 'sft',
      cfg: sftCfg,
      checkpointRoot: root,
      sftModelId: 'sft-d',
      inputTopic: 'in',
      log,
    });
    const sftLoop = makeLoop('sft', s, new MemorySink(), undefined, 1);
    await deliver(sftLoop, s, corpus(8));
    const sftCkpt = sftLoop.latestCheckpoint;
    s.dispose();
    const rlCfg = rlTrainerSection.parse({ modelId: 'rl-d', initFrom: 'latest-sft' });
    const r = await bootstrap({
      kind: 'rl',
      cfg: rlCfg,
      checkpointRoot: root,
      sftModelId: 'sft-d',
      inputTopic: 'rl-in',
      log,
    });
    expect(r.start).toMatchObject({ step: 0, parent: sftCkpt?.path });
    r.dispose();
  });

  it('keeps a copy of the starting model as the frozen KL reference across restarts', async () => {
    const root = tmp();
    const cfg = rlTrainerSection.parse({
      modelId: 'rl-kl',
      initModelDir: await modelDir(),
      kl: { coef: 0.1 },
    });
    const a = await bootstrap({
      kind: 'rl',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft',
      inputTopic: 'in',
      log,
    });
    expect(a.reference).not.toBeNull();
    const loop = makeLoop('rl', a, new MemorySink(), undefined, 1, {
      microBatchSize: 2,
      gradAccumulation: 1,
    });
    const recs = [0, 1].map((i) =>
      inputRecord(scored(countingTrajectory(`k${i}`, 1, { reward: i }), 'RL'), i),
    );
    await deliver(loop, a, recs);
    expect(loop.step).toBe(1);
    const refLogits = a.reference?.forward(tf.tensor2d([[1, 5]], [1, 2], 'int32')).logits.dataSync();
    a.dispose();
    const b = await bootstrap({
      kind: 'rl',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft',
      inputTopic: 'in',
      log,
    });
    expect(b.start.step).toBe(1);
    const again = b.reference?.forward(tf.tensor2d([[1, 5]], [1, 2], 'int32')).logits.dataSync();
    expect(Array.from(again ?? [])).toEqual(Array.from(refLogits ?? []));
    const policy = b.model.forward(tf.tensor2d([[1, 5]], [1, 2], 'int32')).logits.dataSync();
    expect(Array.from(policy)).not.toEqual(Array.from(refLogits ?? []));
    b.dispose();
  });

  it('refuses latest-sft when no SFT checkpoint exists', async () => {
    const rlCfg = rlTrainerSection.parse({ modelId: 'rl-e', initFrom: 'latest-sft' });
    await expect(
      bootstrap({ kind: 'rl', cfg: rlCfg, checkpointRoot: tmp(), sftModelId: 'nope', inputTopic: 'in', log }),
    ).rejects.toMatchObject({
      code: 'NO_SFT_CHECKPOINT',
    });
  });
});
