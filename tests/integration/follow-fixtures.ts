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
import type { ModelUpdate } from '../../src/schemas/types.ts';
import { CheckpointStore, type CheckpointRef } from '../../src/trainer/checkpoint/store.ts';
import { testKafka } from './helpers/kafka.ts';

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
