/**
 * Shared by the follow-mode integration tests (tfjs and torch scorers): tiny model folders,
 * trainer-style checkpoints, ModelUpdates on the updates topic, and a log capture.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { initModel } from '../../src/model/llama.ts';
import { saveModel } from '../../src/model-store/llama.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import type { ModelUpdate, ScoredTrajectory } from '../../src/schemas/types.ts';
import { CheckpointStore, type CheckpointRef } from '../../src/trainer/checkpoint/store.ts';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { PipelineHandle } from '../../streams/app.ts';
import { createTestTopic, testBrokers, testKafka, uniqueName } from './helpers/kafka.ts';
import {
  audit,
  committedTotal,
  createOutputs,
  metricValue,
  tempDir,
  trajectory,
  waitFor,
} from './run-fixtures.ts';

const registry = openLocalRegistry();

/** What `prism model init --preset tiny --seed N --out DIR` writes (same functions, in-process). */
export async function tinyModelFolder(dir: string, seed: number): Promise<string> {
  const m = initModel({ preset: 'tiny', arch: 'llama', seed });
  await saveModel(m, dir);
  m.dispose();
  return dir;
}

/** A trainer-style checkpoint of another tiny model: atomic store + manifest with the right sha256. */
export async function writeCheckpoint(
  root: string,
  step: number,
  followId: string,
  consumerGroup: string,
): Promise<CheckpointRef> {
  const m = initModel({ preset: 'tiny', arch: 'llama', seed: 1000 + step });
  try {
    return await new CheckpointStore(root, followId).write({
      step,
      trainer: 'sft',
      consumerGroup,
      parent: null,
      offsets: [],
      state: {},
      metrics: {},
      optimizerStep: step,
      writeWeights: (dir) => saveModel(m, dir),
      writeOptimizer: async (dir) => {
        await writeFile(join(dir, 'optimizer.safetensors'), 'not needed by followers');
        return 'optimizer.safetensors';
      },
    });
  } finally {
    m.dispose();
  }
}

export async function publish(topic: string, update: ModelUpdate): Promise<void> {
  const codec = new RecordCodec('model-update', { format: 'avro', registry, topic });
  const producer = testKafka('run-follow-updates').producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: update.model_id, value: await codec.encode(update) }],
    });
  } finally {
    await producer.disconnect();
  }
}

export function updateOf(
  ref: CheckpointRef,
  followId: string,
  overrides: Partial<ModelUpdate> = {},
): ModelUpdate {
  return {
    model_id: followId,
    version: ref.manifest.version,
    step: ref.manifest.step,
    uri: pathToFileURL(ref.path).href,
    sha256: ref.manifest.sha256,
    created_at: ref.manifest.createdAt,
    trainer: 'sft',
    metrics: {},
    ...overrides,
  };
}

/** JSON log lines of the pipeline, kept for assertions. */
export function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

/** Micro-batch size of the follow-mode runs: every produced group is one micro-batch. */
export const FOLLOW_BATCH = 4;

/**
 * A follow-mode run on fresh topics (1 input partition) following `followId`, with the scorer
 * settings of the test (`scorer.kind` and its options; model folder, topics and batching are set
 * here): `batch(name)` produces one micro-batch of FOLLOW_BATCH trajectories (same contents every
 * time, ids `<name>-<i>`) and waits for its commit; `outputs()` reads every output and checks one
 * per input, none in the DLQ.
 */
export async function followRun(prefix: string, followId: string, scorer: Record<string, string | number>) {
  const dir = tempDir(`prism-${prefix}-`);
  const baseDir = await tinyModelFolder(join(dir, 'base'), 7);
  const input = await createTestTopic(uniqueName(`${prefix}-in`), { partitions: 1 });
  const updates = await createTestTopic(uniqueName(`${prefix}-updates`), { partitions: 1 });
  const out = await createOutputs(prefix);
  const group = uniqueName(`${prefix}-group`);
  const settings: Record<string, string | number> = {
    'kafka.brokers': testBrokers().join(','),
    'consumer.groupId': group,
    'topics.trajectories': input,
    'topics.sft': out.sft,
    'topics.rl': out.rl,
    'topics.dlq': out.dlq,
    'topics.modelUpdates': updates,
    ...scorer,
    'scorer.modelDir': baseDir,
    'scorer.maxSeqLen': 64,
    'probe.mode': 'follow',
    'probe.followModelId': followId,
    'batch.size': FOLLOW_BATCH,
    'batch.maxWaitMs': 2000,
    'arbitration.warmup': FOLLOW_BATCH,
    'arbitration.window': 64,
    'consumer.highWatermark': 16,
    'consumer.lowWatermark': 8,
    'consumer.sessionTimeoutMs': 10_000,
    'consumer.heartbeatIntervalMs': 1000,
    'consumer.maxWaitTimeMs': 100,
    'http.enabled': 'false',
  };
  const config = loadConfig({
    env: {},
    overrides: Object.entries(settings).map(([path, value]) => ({
      path,
      value: String(value),
      source: 'test',
    })),
  });
  const codec = new RecordCodec('trajectory', { registry });
  const producer = testKafka(`${prefix}-input`).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let produced = 0;
  const batch = async (name: string): Promise<void> => {
    const messages = await Promise.all(
      Array.from({ length: FOLLOW_BATCH }, async (_, i) => ({
        key: `${name}-${i}`,
        value: await codec.encode(trajectory(`${name}-${i}`, i)),
      })),
    );
    await producer.send({ topic: input, acks: -1, messages });
    produced += FOLLOW_BATCH;
    await waitFor(
      `${name} committed`,
      async () => (await committedTotal(group, input)) >= BigInt(produced),
      60_000,
      100,
    );
  };
  const outputs = async (): Promise<Map<string, ScoredTrajectory['prism']>> => {
    const a = await audit(out);
    expect(a.dlq).toEqual([]);
    expect([...a.counts.values()].every((n) => n === 1)).toBe(true);
    const scoredCodec = new RecordCodec('scored-trajectory', { registry });
    const byKey = new Map<string, ScoredTrajectory['prism']>();
    for (const r of [...a.sft, ...a.rl]) byKey.set(r.key ?? '', (await scoredCodec.decode(r.value)).prism);
    expect(byKey.size).toBe(produced);
    return byKey;
  };
  return { dir, config, updates, batch, outputs, close: () => producer.disconnect() };
}

/** prism_probe_swaps_total{result} of a running pipeline. */
export const swapCount = async (handle: PipelineHandle, result: string): Promise<number> =>
  metricValue(await handle.metrics.registry.metrics(), 'prism_probe_swaps_total', { result }) ?? 0;
