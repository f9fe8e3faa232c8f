import * as tf from '@tensorflow/tfjs';
import type { Consumer, Producer } from 'kafkajs';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sftTrainerSection } from '../../src/config/trainer.ts';
import { createLogger } from '../../src/log.ts';
import { saveModel } from '../../src/model-store/llama.ts';
import { bootstrap } from '../../src/trainer/bootstrap.ts';
import { writeOptimizerState } from '../../src/trainer/checkpoint/optimizer-state.ts';
import { readManifest } from '../../src/trainer/checkpoint/store.ts';
import { SftEngine } from '../../src/trainer/engines/sft.ts';
import { IdLog, readIdLog } from '../../src/trainer/id-log.ts';
import type { TrainerCodecs } from '../../src/trainer/kafka/codecs.ts';
import { RetryingTrainerSink, isGenerationErrorDeep } from '../../src/trainer/kafka/retrying-sink.ts';
import { KafkaTrainerSink } from '../../src/trainer/kafka/sink.ts';
import { TrainerLoop } from '../../src/trainer/loop.ts';
import { TrainerMetrics } from '../../src/trainer/metrics.ts';
import type { StepEngine } from '../../src/trainer/types.ts';
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
  const d = mkdtempSync(join(tmpdir(), 'trainer-evict-'));
  dirs.push(d);
  return d;
}

/** The error kafkajs raises for a coordinator error code (as the broker answers an OffsetCommit). */
function protocolError(type: string, code: number, message: string): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable: false }));
}
const unknownMember = (): KafkaJSProtocolError =>
  protocolError('UNKNOWN_MEMBER_ID', 25, 'The coordinator is not aware of this member');

describe('commit failure classification', () => {
  it.each([
    ['UNKNOWN_MEMBER_ID', 25, 'The coordinator is not aware of this member'],
    ['ILLEGAL_GENERATION', 22, 'Specified group generation id is not valid'],
    ['REBALANCE_IN_PROGRESS', 27, 'The group is rebalancing, so a rejoin is needed'],
  ])('treats %s as a lost group membership', (type, code, message) => {
    expect(isGenerationErrorDeep(protocolError(type, code, message))).toBe(true);
  });

  it('sees a membership loss wrapped by kafkajs or carried only in the message', () => {
    const wrapped = Object.assign(new KafkaJSNonRetriableError('commit failed'), {
      originalError: unknownMember(),
    });
    expect(isGenerationErrorDeep(wrapped)).toBe(true);
    expect(isGenerationErrorDeep(new Error('The coordinator is not aware of this member'))).toBe(true);
  });

  it('does not treat other commit failures as a membership loss', () => {
    expect(isGenerationErrorDeep(protocolError('GROUP_AUTHORIZATION_FAILED', 30, 'Not authorized'))).toBe(
      false,
    );
    expect(isGenerationErrorDeep(new Error('disk full'))).toBe(false);
    expect(isGenerationErrorDeep(null)).toBe(false);
  });
});

describe('RetryingTrainerSink.commit after eviction', () => {
  const inner = (err: unknown) => ({
    deadLetter: async () => undefined,
    publish: async () => undefined,
    commit: async (): Promise<void> => {
      throw err;
    },
  });

  it('skips the commit with a warning and reports it instead of failing', async () => {
    let skipped = 0;
    const sink = new RetryingTrainerSink(inner(unknownMember()), {
      patienceMs: 1000,
      log,
      onCommitSkipped: () => (skipped += 1),
    });
    await expect(
      sink.commit([{ topic: 'in', partition: 0, offset: '3', doneAbove: [] }]),
    ).resolves.toBeUndefined();
    expect(skipped).toBe(1);
  });

  it('still fails on a commit error that is not about membership', async () => {
    const sink = new RetryingTrainerSink(inner(protocolError('GROUP_AUTHORIZATION_FAILED', 30, 'nope')), {
      patienceMs: 1000,
      log,
      onCommitSkipped: () => expect.fail('must not count an authorization failure as eviction'),
    });
    await expect(sink.commit([{ topic: 'in', partition: 0, offset: '3', doneAbove: [] }])).rejects.toThrow();
  });
});

describe('trainer evicted before its first commit', () => {
  it('keeps training from its lineage: the checkpoint holds the offsets, re-delivered records are not trained twice', async () => {
    const root = tmp();
    const init = join(root, 'init');
    const m = tinyModel(5);
    await saveModel(m, init);
    m.dispose();
    const cfg = sftTrainerSection.parse({ modelId: 'sft-evict', initModelDir: init });
    const booted = await bootstrap({
      kind: 'sft',
      cfg,
      checkpointRoot: root,
      sftModelId: 'sft-evict',
      inputTopic: 'in',
      log,
    });
    // Fake kafkajs consumer: the first commit comes after the member was evicted (demo bug report).
    const commits: string[] = [];
    let commitCalls = 0;
    const consumer = {
      commitOffsets: async (o: { offset: string }[]): Promise<void> => {
        commitCalls += 1;
        if (commitCalls === 1) throw unknownMember();
        commits.push(...o.map((x) => x.offset));
      },
    } as unknown as Consumer;
    const published: unknown[] = [];
    const producer = {
      send: async (r: unknown): Promise<void> => {
        published.push(r);
      },
    } as unknown as Producer;
    const codecs = { encodeUpdate: async () => Buffer.from('u') } as unknown as TrainerCodecs;
    const metrics = new TrainerMetrics('sft');
    const sink = new RetryingTrainerSink(
      new KafkaTrainerSink({
        producer,
        consumer,
        codecs,
        dlqTopic: 'dlq',
        modelUpdatesTopic: 'mu',
        modelId: 'sft-evict',
      }),
      { patienceMs: 1000, log, onCommitSkipped: () => metrics.commitsSkipped.inc() },
    );
    const ids = join(root, 'ids.jsonl');
    const idLog = new IdLog(ids);
    idLog.start(booted.start.step, booted.start.version);
    const engine = new SftEngine(booted.model, {
      tokenizer: null,
      vocabSize: TINY_VOCAB,
      maxSeqLen: 32,
    }) as StepEngine<unknown>;
    const loop = new TrainerLoop<unknown>(
      {
        trainer: 'sft',
        modelId: 'sft-evict',
        consumerGroup: 'g',
        microBatchSize: 4,
        maxBatchWaitMs: 60_000,
        gradAccumulation: 1,
        maxGradNorm: 1,
        schedule: { lr: 1e-2, warmupSteps: 0, decay: 'constant', decaySteps: 0, minLrRatio: 0 },
        checkpointEverySteps: 2,
        checkpointEverySeconds: 3600,
        keepCheckpoints: 3,
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
        metrics,
        log,
      },
      booted.start,
    );
    const records = Array.from({ length: 16 }, (_, i) =>
      inputRecord(scored(countingTrajectory(`r${i}`, i % 8)), i),
    );
    // What eachBatch does: the ledger filters, the loop trains what is fresh.
    const deliver = async (batch: typeof records): Promise<void> => {
      await loop.offer(batch.filter((r) => booted.ledger.deliver(r.topic, r.partition, r.offset)));
      await loop.pump();
    };

    await deliver(records.slice(0, 8)); // 2 steps -> checkpoint; its commit hits the eviction
    expect(loop.step).toBe(2);
    const first = loop.latestCheckpoint;
    expect(first && (await readManifest(first.path)).offsets).toEqual([
      { topic: 'in', partition: 0, offset: '8', doneAbove: [] },
    ]);
    expect((await metrics.commitsSkipped.get()).values[0]?.value).toBe(1);
    expect(published.length).toBe(1); // the ModelUpdate still goes out

    // After the rejoin kafkajs fetches from the stale group offset (nothing committed): the
    // lineage position is where GROUP_JOIN seeks, and the ledger drops what it already trained.
    expect(booted.ledger.get('in', 0)?.fetchPosition).toBe(8n);
    await deliver(records);
    await loop.checkpoint();
    expect(loop.step).toBe(4);
    expect(commits.at(-1)).toBe('16');

    const trained = readIdLog(ids).entries.map((e) => e.id);
    expect(trained.sort()).toEqual(records.map((r) => r.value.trajectory.id).sort());
    expect(new Set(trained).size).toBe(trained.length);
    booted.dispose();
  });
});
