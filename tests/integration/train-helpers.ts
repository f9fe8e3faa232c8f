/**
 * Shared pieces of the trainer integration tests (not a test file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/config/schema.ts';
import { saveModel } from '../../src/model-store/llama.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import type { ScoredTrajectory } from '../../src/schemas/types.ts';
import type { TrainerRunConfig } from '../../src/trainer/run.ts';
import { tinyModel } from '../unit/trainer-fixtures.ts';
import { endOffsets, testBrokers, testKafka, uniqueName } from './helpers/kafka.ts';
import { waitUntil } from './helpers/wait.ts';

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function tinyModelDir(root: string, seed = 5): Promise<string> {
  const dir = join(root, 'init-model');
  const m = tinyModel(seed);
  await saveModel(m, dir);
  m.dispose();
  return dir;
}

export function uniqueTopics() {
  return {
    trajectories: uniqueName('tr-in'),
    sft: uniqueName('tr-sft'),
    rl: uniqueName('tr-rl'),
    dlq: uniqueName('tr-dlq'),
    modelUpdates: uniqueName('tr-updates'),
  };
}

/** A full config (defaults from the root schema) with the test broker and fast trainer settings. */
export function testTrainerConfig(o: {
  topics: ReturnType<typeof uniqueTopics>;
  checkpointRoot: string;
  sft?: Record<string, unknown>;
  rl?: Record<string, unknown>;
}): TrainerRunConfig {
  const fast = {
    microBatchSize: 8,
    maxBatchWaitMs: 300,
    maxSeqLen: 32,
    metrics: { port: 0 },
    sessionTimeoutMs: 30_000,
  };
  return configSchema.parse({
    kafka: { brokers: testBrokers() },
    topics: o.topics,
    trainer: {
      checkpointRoot: o.checkpointRoot,
      backend: 'cpu',
      sft: { groupId: uniqueName('g-sft'), ...fast, ...o.sft },
      rl: { groupId: uniqueName('g-rl'), ...fast, ...o.rl },
    },
  });
}

export const scoredCodec = (): RecordCodec<'scored-trajectory'> =>
  new RecordCodec('scored-trajectory', { format: 'avro', registry: openLocalRegistry() });

export const updateCodec = (): RecordCodec<'model-update'> =>
  new RecordCodec('model-update', { format: 'avro', registry: openLocalRegistry() });

/** Produces records as the arbitrator does (Avro, key = trajectory id); a raw Buffer is sent as is. */
export async function produceScored(
  topic: string,
  records: readonly (ScoredTrajectory | Buffer)[],
): Promise<void> {
  const codec = scoredCodec();
  const producer = testKafka('train-test-producer').producer();
  await producer.connect();
  try {
    const messages = await Promise.all(
      records.map(async (r) =>
        Buffer.isBuffer(r)
          ? { key: 'raw', value: r }
          : { key: r.trajectory.id, value: await codec.encode(r) },
      ),
    );
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

export async function waitFor(
  what: string,
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
  everyMs = 200,
): Promise<void> {
  await waitUntil({
    what,
    check: async () => (await pred()) || 'condition not met',
    budgetMs: timeoutMs,
    everyMs,
  });
}

/** Committed offsets of a group on a topic, by partition (-1 = none). */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = testKafka('train-test-admin').admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(t.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

export interface RawRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Every record currently in `topic` with raw bytes (readAllRecords decodes values as UTF-8). */
export async function readRaw(topic: string, timeoutMs = 30_000): Promise<RawRecord[]> {
  const kafka = testKafka('train-test-raw-reader');
  const ends = await endOffsets(kafka, topic);
  const total = [...ends.values()].reduce((a, b) => a + b, 0n);
  const out: RawRecord[] = [];
  if (total === 0n) return out;
  const consumer = kafka.consumer({ groupId: uniqueName('raw-read'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (BigInt(message.offset) >= (ends.get(partition) ?? 0n)) return;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {}))
          if (v !== undefined) headers[k] = v.toString();
        out.push({
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          value: message.value,
          headers,
        });
      },
    });
    await waitFor(`${total} records of ${topic}`, () => BigInt(out.length) >= total, timeoutMs, 100);
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
